"""The workshop's logic without a browser: sides, played runs, bands, words, uploads, files."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from sim import simulate
from sim.model.scenario import ScenarioError
from sim.workshop.exports import csv_text, page_data, picture_png
from sim.workshop.play import CONTROLS, EVENTS, Side, play, replication_seeds
from sim.workshop.sentences import answer, compare_sentence, differences, paired, rise_sentence
from sim.workshop.session import SavedEvent, Session, fired_events
from sim.workshop.story import CHAPTERS, PLAIN_NAMES, library, load_upload

LIB = library()


def side(name: str, **values: float) -> Side:
    out = Side(name, LIB[name][0])
    for key, value in values.items():
        out = out.with_value(key, value)
    return out


@pytest.fixture(scope="module")
def pair() -> tuple:
    return play(side("distrusted_management"), 1), play(side("top_down_internal"), 1)


def test_each_side_keeps_its_own_parameters() -> None:
    """The defect this rebuild fixes: sliders of one side overwrote the other's."""
    a, b = side("top_down_internal"), side("distrusted_management")
    assert a.scenario().management_trust_scale == 1.0
    assert b.scenario().management_trust_scale == 0.2
    a2 = a.with_value("propensity_mean", 0.3)
    assert a2.scenario().propensity_mean == 0.3
    assert b.scenario().propensity_mean == LIB["distrusted_management"][0].propensity_mean
    assert side("hierarchy_4").scenario().levels == 4
    assert side("hierarchy_1").scenario().levels == 1


def test_the_played_run_is_the_fast_path_run_of_that_scenario_and_seed(pair) -> None:
    played, _ = pair
    run = simulate(played.scenario, 1)
    col = list(run.steps.columns).index("trust_in_coach")
    np.testing.assert_array_equal(played.lines["trust_in_coach"], run.table[:, col])
    assert played.weeks == 104
    assert len(played.network.skill) == 105


def test_two_sides_that_differ_in_one_parameter_differ_in_their_runs_and_say_so(pair) -> None:
    left, right = pair
    assert differences(left.scenario, right.scenario) == [
        "Trust in management (1 normal, 0.2 distrusted) (management_trust_scale): 0.2 vs 1"
    ]
    assert not np.array_equal(left.lines["trust_in_coach"], right.lines["trust_in_coach"])
    verdict, text = compare_sentence(left, right, "trust_in_coach")
    m, _lo, hi, n = paired(left, right, "trust_in_coach")
    assert n == 50
    assert hi < 0
    assert verdict == "right"
    assert f"{m:+.2f}" in text
    assert "Coach from the team, backed by top management" in text


def test_the_same_scenario_on_both_sides_has_no_difference() -> None:
    a, b = play(side("peer_led"), 3), play(side("peer_led"), 3)
    assert differences(a.scenario, b.scenario) == []
    m, _lo, _hi, n = paired(a, b, "mean_skill")
    assert (m, n) == (0.0, 50)
    assert compare_sentence(a, b, "mean_skill")[0] == "same"


def test_hierarchy_sides_name_levels_and_the_team_structure() -> None:
    a, b = play(side("hierarchy_4"), 1), play(side("hierarchy_1"), 1)
    assert differences(a.scenario, b.scenario) == ["Levels of hierarchy (levels): 4 vs 1"]
    assert "16 teams of 3" in a.teams
    assert "1 team of 48" in b.teams
    assert a.network.kind == "teams"
    assert b.network.kind == "sample"
    assert len(b.network.x) <= 16
    assert "of 49 people shown" in b.network.caption


def test_both_sides_share_the_replication_seeds() -> None:
    assert replication_seeds(7) == replication_seeds(7)
    assert replication_seeds(7) != replication_seeds(8)
    assert len(set(replication_seeds(7))) == 50


def test_the_band_holds_most_runs_and_the_median(pair) -> None:
    played, _ = pair
    key = "mean_skill"
    assert (played.low[key] <= played.middle[key] + 1e-12).all()
    assert (played.middle[key] <= played.high[key] + 1e-12).all()
    finals = played.finals[key]
    inside = ((finals >= played.low[key][-1]) & (finals <= played.high[key][-1])).mean()
    assert 0.7 <= inside <= 0.9


def test_an_event_branches_the_run_at_its_week() -> None:
    s = side("top_down_internal")
    plain = play(s, 2)
    branched = play(s, 2, fired_events([SavedEvent(label="The coach breaches trust", at=31)]))
    key = "trust_in_coach"
    np.testing.assert_array_equal(branched.lines[key][:31], plain.lines[key][:31])
    assert branched.lines[key][31] < plain.lines[key][31] - 0.05
    assert [e.at for e in branched.scenario.events] == [31]


def test_every_event_button_makes_a_valid_event() -> None:
    for label in EVENTS:
        (event,) = fired_events([SavedEvent(label=label, at=5)])
        assert event.at == 5
        play(side("manager_sponsored"), 1, [event], replications=2)


def test_sentences_come_from_the_numbers() -> None:
    played = play(side("top_down_internal"), 1)
    verdict, text = rise_sentence(played, "trust_in_coach")
    start, end = played.middle["trust_in_coach"][0], played.middle["trust_in_coach"][-1]
    assert f"{start:.2f}" in text
    assert f"{end:.2f}" in text
    assert verdict == (
        "rose" if end - start > 0.02 else "fell" if end - start < -0.02 else "hardly changed"
    )
    none = play(side("no_coaching"), 1)
    assert rise_sentence(none, "trust_in_coach")[0] == "does not apply"
    assert compare_sentence(none, played, "trust_in_coach")[0] == "does not apply"


def test_every_chapter_answers_with_one_of_its_guesses() -> None:
    for ch in CHAPTERS:
        played = [play(side(ch.left), 1, replications=10)]
        if ch.right:
            played.append(play(side(ch.right), 1, replications=10))
        verdict, text = answer(ch, played)
        assert verdict in ch.verdicts, (ch.title, verdict, text)
        assert len(ch.answers) == len(ch.verdicts)
        assert any(c.isdigit() for c in text), text


def test_every_library_scenario_and_preset_has_a_plain_name() -> None:
    for name in LIB:
        assert name in PLAIN_NAMES, name
        assert "_" not in PLAIN_NAMES[name]
    assert all(c.tooltip() for c in CONTROLS)


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("bad.toml", b"coach = [", "not valid TOML"),
        ("typo.toml", b"trust_gian = 0.1\n", "trust_gian"),
        ("model.py", b"import os\n", "only scenario files"),
        ("binary.toml", bytes(range(256)) * 4, "not a text file"),
        ("huge.toml", b"# x\n" * 20_000, "too big"),
        ("etc.toml", b'extends = "/etc/passwd"\n', "refused"),
        ("up.toml", b'extends = "../pyproject.toml"\n', "refused"),
        ("range.toml", b"members = 100000000\n", "members"),
    ],
)
def test_a_bad_upload_is_one_sentence(name: str, data: bytes, says: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_upload(name, data)
    assert len(err.value.lines) >= 1
    assert says in " ".join(err.value.lines)
    assert "build-system" not in " ".join(err.value.lines)


def test_an_upload_may_extend_the_library() -> None:
    sc, text = load_upload("mine.toml", b'extends = "peer_led.toml"\nname = "mine"\n')
    assert sc.peer_coaching
    assert sc.name == "mine"
    assert "peer_led" in text


def test_a_session_saves_and_loads_back() -> None:
    session = Session(
        chapter=6,
        left={"key": "top_down_internal", "values": {"propensity_mean": 0.3}},
        right={"key": "peer_led"},
        seed=9,
        events=[{"label": "The sponsor withdraws", "at": 12}],
        uploads={"mine": 'preset = "hybrid"\n'},
    )
    again = Session.loads(session.dumps())
    assert again == session
    for bad, says in [
        ("not json", "not JSON"),
        (json.dumps({"chapter": 99}), "chapter"),
        (json.dumps({"seed": -1}), "seed"),
        (json.dumps({"left": {"key": "x", "values": {"nope": 1}}}), "not a slider"),
        (json.dumps({"events": [{"label": "boom", "at": 3}]}), "not an event"),
        (json.dumps({"extra": 1}), "extra"),
    ]:
        with pytest.raises(ScenarioError) as err:
            Session.loads(bad, "saved.json")
        assert says in err.value.lines[0]
        assert err.value.lines[0].startswith("saved.json")


def test_the_csv_holds_what_the_charts_show(pair) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(pair))))
    watched = [r for r in rows if r["series"] == "watched run"]
    assert len(watched) == 2 * 105
    last = {r["side"]: float(r["trust_in_coach"]) for r in watched if r["week"] == "104"}
    assert set(last) == {pair[0].title, pair[1].title}
    assert last[pair[0].title] == pytest.approx(pair[0].lines["trust_in_coach"][-1], abs=1e-5)
    assert last[pair[0].title] != last[pair[1].title]


def test_the_picture_is_a_png_that_follows_the_week(pair) -> None:
    first = picture_png(pair, 0, dpi=40)
    later = picture_png(pair, 60, dpi=40)
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first != later


def test_page_data_is_json_with_a_gap_where_a_measure_does_not_apply() -> None:
    data = page_data([play(side("no_coaching"), 1, replications=3)])
    text = json.dumps(data)  # NaN would not be valid JSON for the browser
    assert "NaN" not in text
    assert data["sides"][0]["run"]["trust_in_coach"][5] is None
    assert data["weeks"] == 104
    assert data["replications"] == 3


def test_a_large_organization_is_drawn_as_teams() -> None:
    played = play(side("large_org").with_value("members", 60), 1, replications=2)
    assert len(played.network.x) <= 60
    big = play(Side("large_org", LIB["large_org"][0].with_(steps=3)), 1, replications=1)
    assert big.network.kind == "teams"
    assert len(big.network.x) == 36
    assert "of 1000 teams shown" in big.network.caption


def test_a_slider_value_the_model_refuses_is_a_sentence() -> None:
    """A saved session can carry any number: the model's own ranges still hold."""
    s = side("top_down_internal").with_value("propensity_mean", 2.0)
    with pytest.raises(ScenarioError) as err:
        s.scenario()
    assert "propensity_mean" in err.value.lines[0]


def test_the_sandbox_states_the_paired_difference_of_every_measure(pair) -> None:
    from sim.workshop.sentences import paired_summary

    lines = paired_summary(*pair)
    assert len(lines) == 4
    m, lo, hi, _n = paired(*pair, "trust_in_coach")
    coach = next(line for line in lines if line.startswith("Trust in the coach"))
    assert f"{m:+.2f}" in coach
    assert f"{lo:+.2f} to {hi:+.2f}" in coach
    assert "clear difference" in coach
    none = paired_summary(play(side("no_coaching"), 1), pair[1])
    assert "does not apply" in none[1]


def test_the_run_before_a_change_is_sent_as_the_faint_line(pair) -> None:
    changed = play(side("distrusted_management", propensity_mean=0.3), 1, replications=5)
    data = page_data([changed], previous=[pair[0]])
    before = data["sides"][0]["previous"]["mean_skill"]
    assert before == pytest.approx(list(pair[0].lines["mean_skill"]), abs=1e-4)
    assert before != data["sides"][0]["run"]["mean_skill"]
    assert data["key"] != page_data([changed])["key"]


def test_a_clear_but_tiny_difference_is_about_the_same(pair) -> None:
    """A room that guessed "about the same" is not told it was wrong over +0.01."""
    import dataclasses

    a = pair[1]
    finals = {k: v + 0.01 + 0.001 * np.sin(np.arange(len(v))) for k, v in a.finals.items()}
    b = dataclasses.replace(a, finals=finals)
    verdict, text = compare_sentence(b, a, "mean_skill")
    assert verdict == "same"
    assert "too small to matter" in text
    bigger = dataclasses.replace(a, finals={k: v + 0.05 for k, v in a.finals.items()})
    assert compare_sentence(bigger, a, "mean_skill")[0] == "left"
    assert "-0.00" not in " ".join(paired_summary_of(a, a))


def paired_summary_of(a, b):
    from sim.workshop.sentences import paired_summary

    return paired_summary(a, b)


def test_a_large_organization_beside_a_team_is_compared_over_its_fewer_runs(pair) -> None:
    """10,000 people get 5 band runs: they pair with the first 5 of the team's 50."""
    big = play(Side("large_org", LIB["large_org"][0].with_(steps=104)), 1, replications=5)
    m, _lo, _hi, n = paired(big, pair[1], "mean_skill")
    assert n == 5
    expected = (big.finals["mean_skill"] - pair[1].finals["mean_skill"][:5]).mean()
    assert m == pytest.approx(expected)
    assert replication_seeds(1, 5) == replication_seeds(1, 50)[:5]


def test_sides_of_different_lengths_are_not_compared(pair) -> None:
    from sim.workshop.sentences import paired_summary

    short = play(side("peer_led").__class__("peer_led", LIB["peer_led"][0].with_(steps=20)), 1)
    assert compare_sentence(short, pair[1], "mean_skill")[0] == "does not apply"
    assert paired_summary(short, pair[1]) == ["Not compared: the sides run for 20 and 104 weeks."]


def test_the_paired_numbers_are_of_what_the_charts_show(pair) -> None:
    """Silence is charted as its 8-week mean: its finals and band are that too."""
    played = pair[0]
    assert played.finals["silence_rate"][0] != pytest.approx(0.0)
    inside = (played.finals["silence_rate"] >= played.low["silence_rate"][-1]) & (
        played.finals["silence_rate"] <= played.high["silence_rate"][-1]
    )
    assert 0.7 <= inside.mean() <= 0.9
    assert np.median(played.finals["silence_rate"]) == pytest.approx(
        played.middle["silence_rate"][-1]
    )


def test_the_players_start_changes_before_the_sides_it_starts() -> None:
    """Every change of a reactive value renders the page, so an action that moves the
    player (a chapter, an event) must move its start first: set after the new sides, it
    reached the player a render after their runs and undid the presses made in between."""
    from sim.workshop import actions

    order: list[str] = []
    stops = [actions.start.subscribe(lambda _: order.append("start"))] + [
        r.subscribe(lambda _: order.append("sides"))
        for r in (actions.left, actions.right, actions.fired)
    ]
    try:
        actions.go_chapter(2)
        assert order[:1] == ["start"], order
        assert "sides" in order, order
        order.clear()
        actions.fire({"label": next(iter(EVENTS)), "week": 10})
        assert not actions.problem.value
        assert order[:1] == ["start"], order
        assert "sides" in order, order
        assert actions.start.value[0] == 10
    finally:
        for stop in stops:
            stop()
        actions.go_chapter(0)
