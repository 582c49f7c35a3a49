"""The workshop's logic without a browser: lockstep runs, events, controls, uploads."""

from __future__ import annotations

import numpy as np
import pytest

from sim import app
from sim.scenario import ScenarioError, preset
from sim.workshop import CONTROLS, EVENTS, Workshop, library


def test_two_runs_from_one_seed_share_their_draws() -> None:
    shop = Workshop(preset("peer_led"), preset("peer_led"), seed=5)
    for _ in range(6):
        shop.step()
    a, b = shop.models
    np.testing.assert_array_equal(a.trust, b.trust)
    np.testing.assert_array_equal(a.skill, b.skill)
    assert shop.week == 6


def test_controls_reach_the_model() -> None:
    values = {"propensity_mean": 0.3, "loss_ratio": 3.0, "members": 20, "levels": 2}
    shop = Workshop(preset("top_down_internal"), seed=1, values=values)
    p = shop.models[0].params
    assert p.propensity_mean == 0.3
    assert p.trust_loss == pytest.approx(3.0 * p.trust_gain)
    assert (p.members, p.levels) == (20, 2)


def test_every_control_reads_its_scenario_value() -> None:
    sc = preset("top_down_internal")
    read = {c.key: c.read(sc) for c in CONTROLS}
    assert read["loss_ratio"] == pytest.approx(sc.trust_loss / sc.trust_gain)
    assert read["coach_capacity"] == sc.coach_capacity
    assert all(c.tooltip() for c in CONTROLS)


def test_an_event_happens_now_in_every_run() -> None:
    shop = Workshop(preset("top_down_internal"), preset("hybrid"), seed=2)
    for _ in range(4):
        shop.step()
    before = [m.trust.copy() for m in shop.models]
    shop.event("The coach breaches trust")
    for model, old in zip(shop.models, before, strict=True):
        coach = model.org.coach_of_team[0]
        into = model.net.dst == coach
        assert (model.trust[into] < old[into]).all()
    assert set(EVENTS) >= {"The sponsor withdraws", "Half the team is replaced"}


def test_the_picture_is_a_png_and_follows_the_weeks() -> None:
    shop = Workshop(preset("top_down_internal"), seed=1)
    first = shop.png(dpi=50)
    shop.step()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert shop.png(dpi=50) != first


def test_a_bad_control_value_is_one_clear_line() -> None:
    with pytest.raises(ScenarioError) as err:
        Workshop(preset("peer_led"), values={"members": 1})
    assert "members = 1" in str(err.value)


def test_the_library_has_every_scenario_file_with_its_description() -> None:
    lib = library()
    assert {"top_down_internal", "peer_led", "breach_shock"} <= set(lib)
    assert all(description for _, description in lib.values())


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("team.txt", b"members = 12", "only scenario files"),
        ("team.toml", b"\xff\xfe", "not a text file"),
        ("team.toml", b"trust_gain = 7", "trust_gain = 7"),
        ("team.toml", b'__import__("os").system("true")', "malformed TOML"),
    ],
)
def test_uploads_are_validated_never_run(name: str, data: bytes, words: str) -> None:
    app.error.value = ""
    app.upload({"name": name, "data": data})
    assert words in app.error.value
    assert "Traceback" not in app.error.value


def test_a_good_upload_becomes_a_scenario() -> None:
    app.error.value = ""
    app.upload({"name": "mine.toml", "data": b'# My team.\npreset = "peer_led"\nmembers = 20\n'})
    assert app.error.value == ""
    assert app.scenario_name.value == "mine"
    assert app.workshop.value is not None
    assert app.workshop.value.models[0].params.members == 20


def test_the_network_key_is_shown_only_when_a_network_is_drawn() -> None:
    assert Workshop(preset("peer_led"), seed=1).draws_a_network()
    big = {"members": 500, "levels": 1}  # 500 people: too many to draw, the charts stay
    assert not Workshop(preset("peer_led"), seed=1, values=big).draws_a_network()
