"""TrustModel as a Mesa user meets it (sim/model/trust_model.py, agents.py): the people on a Mesa
network space that Mesa's own drawing draws, agent reporters, agent.remove() as a
departure, writable traits, and Mesa's conventions (rng, running, run_for)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from mesa.discrete_space import Network

from sim.model.fast import simulate
from sim.model.scenario import preset
from sim.model.trust_model import TrustModel

ROOT = Path(__file__).resolve().parents[1]


def model(**kw: object) -> TrustModel:
    return TrustModel(preset("top_down_internal"), rng=7, **kw)


def test_the_people_sit_on_a_network_space_of_their_contacts() -> None:
    m = model()
    assert isinstance(m.grid, Network)
    assert len(m.grid.G) == m.org.n_people == len(m.people)
    pairs = {tuple(sorted(p)) for p in zip(m.net.src.tolist(), m.net.dst.tolist(), strict=True)}
    assert {tuple(sorted(e)) for e in m.grid.G.edges} == pairs
    for person in m.people:
        assert person.cell is m.grid[person.index]
        assert person in person.cell.agents
        # The cell's neighbours are the person's contacts.
        assert {c.coordinate for c in person.cell.neighborhood} == {
            c.index for c in person.contacts()
        }


def test_edges_carry_the_trust_of_both_directions_and_follow_the_run() -> None:
    m = model()
    a, b = m.people[0], m.people[1]

    def on_edge() -> float:
        return float(m.grid.G.edges[a.index, b.index]["trust"])

    before = on_edge()
    assert before == pytest.approx((a.trust_in(b) + b.trust_in(a)) / 2)
    for _ in range(20):
        m.step()
    assert on_edge() == pytest.approx((a.trust_in(b) + b.trust_in(a)) / 2)
    assert on_edge() != before


def test_mesas_own_drawing_draws_every_person_of_the_space() -> None:
    import mesa.visualization  # noqa: F401 (it imports: altair is installed)
    from mesa.visualization.components import AgentPortrayalStyle
    from mesa.visualization.mpl_space_drawing import draw_space

    m = model()
    m.step()
    fig, ax = plt.subplots()
    draw_space(
        m.grid,
        lambda p: AgentPortrayalStyle(color="tab:red" if p.role == "coach" else "tab:blue"),
        ax=ax,
    )
    dots = [c for c in ax.collections if len(c.get_offsets()) == m.org.n_people]
    assert dots, "one dot per person"
    plt.close(fig)


def test_large_organizations_have_no_space_unless_asked() -> None:
    big = TrustModel(preset("top_down_internal"), members=2400, levels=3, rng=1)
    assert big.grid is None
    assert big.people[0].cell is None
    small = model(space=False)
    assert small.grid is None


def test_a_space_changes_nothing_in_the_run() -> None:
    with_space, without = model(), model(space=False)
    for _ in range(30):
        with_space.step()
        without.step()
    a = with_space.datacollector.get_model_vars_dataframe()
    b = without.datacollector.get_model_vars_dataframe()
    assert a.equals(b)
    fast = simulate(preset("top_down_internal").with_(steps=30), 7).table
    assert np.array_equal(a.to_numpy(float), fast, equal_nan=True)


def test_agent_reporters_give_one_row_per_person_per_step() -> None:
    m = model(agent_table=True)
    for _ in range(3):
        m.step()
    rows = m.datacollector.get_agent_vars_dataframe()
    assert list(rows.columns) == ["skill", "trust_received", "role", "team"]
    assert len(rows) == 4 * m.org.n_people  # week 0 and three steps
    last = rows.xs(rows.index.get_level_values(0).max(), level=0)
    for person in m.people:
        row = last.loc[person.unique_id]
        assert row["skill"] == pytest.approx(person.mean_skill)
        assert row["trust_received"] == pytest.approx(person.trust_received)
        assert (row["role"], row["team"]) == (person.role, person.team)
    assert set(rows["role"]) == {"member", "coach", "manager"}
    assert not model().datacollector.agent_reporters  # off by default (sweeps: fast path)


def test_remove_is_a_departure_and_changes_the_run() -> None:
    m, same = model(), model()
    for _ in range(10):
        m.step()
        same.step()
    leaver = m.people[4]
    old_skill = leaver.skill.copy()
    leaver.remove()
    newcomer = m.people[4]
    assert newcomer is not leaver
    assert newcomer.index == 4
    assert leaver not in m.agents
    assert newcomer in m.agents
    assert len(m.agents) == m.org.n_people
    assert newcomer.cell is m.grid[4]
    assert leaver.cell is None
    assert not np.array_equal(newcomer.skill, old_skill)  # fresh draws
    # Trust in and from the newcomer starts from the baselines, as turnover's does.
    out = np.arange(m.net.indptr[4], m.net.indptr[5])
    assert np.array_equal(m.trust[out], m.baseline[out])
    leaver.remove()  # gone already: nothing more happens
    assert m.people[4] is newcomer
    for _ in range(20):
        m.step()
        same.step()
    assert not m.datacollector.get_model_vars_dataframe().equals(
        same.datacollector.get_model_vars_dataframe()
    )


def test_the_coach_leaving_brings_a_new_coach() -> None:
    m = model()
    coach = next(p for p in m.people if p.role == "coach")
    coach.remove()
    coaches = [p for p in m.people if p.role == "coach"]
    assert len(coaches) == 1
    assert m.org.coach_of_team[0] == coaches[0].index


def test_only_front_line_members_leave() -> None:
    m = model()
    manager = next(p for p in m.people if p.role == "manager")
    with pytest.raises(ValueError, match="is a manager: only front-line members leave"):
        manager.remove()
    with pytest.raises(ValueError, match="cannot leave"):
        m.depart([m.org.n_people + 3])


def test_traits_are_writable_in_0_1_and_change_the_run() -> None:
    m, same = model(), model()
    person = m.people[2]
    for name in ("propensity", "benevolence", "integrity"):
        with pytest.raises(ValueError, match=f"{name} = 1.5 is not allowed: {name} goes from 0"):
            setattr(person, name, 1.5)
        setattr(person, name, 0.25)
        assert getattr(person, name) == 0.25
    with pytest.raises(ValueError, match="skill"):
        person.skill = [0.5, 2.0] + [0.5] * (len(person.skill) - 2)
    person.skill = 0.9
    assert np.all(person.skill == 0.9)
    for p in m.people:
        p.benevolence = 0.0  # nobody helps: learning from colleagues stops
    for _ in range(30):
        m.step()
        same.step()
    assert m.within_team_trust != same.within_team_trust


def test_a_reorganization_moves_everyone_to_the_new_network() -> None:
    m = TrustModel(preset("top_down_internal"), members=48, levels=2, rng=3)
    before = {tuple(sorted(e)) for e in m.grid.G.edges}
    m.trigger("reorg")
    after = {tuple(sorted(e)) for e in m.grid.G.edges}
    assert after != before
    pairs = {tuple(sorted(p)) for p in zip(m.net.src.tolist(), m.net.dst.tolist(), strict=True)}
    assert after == pairs
    assert all(p.cell is m.grid[p.index] for p in m.people)
    m.step()  # the run goes on on the new network


def test_mesa_conventions_rng_running_run_for() -> None:
    m = model()
    assert isinstance(m.rng, np.random.Generator)
    m.run_for(5)
    assert int(m.steps) == 5
    m.run_until(9)
    assert int(m.steps) == 9
    assert m.datacollector.get_model_vars_dataframe()["step"].tolist() == list(range(10))
    short = TrustModel(preset("top_down_internal"), rng=7, steps=8)
    while short.running:
        short.step()
    assert int(short.steps) == 8


def test_the_readmes_mesa_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    [example] = [b for b in blocks if "draw_space(model.grid" in b]
    monkeypatch.chdir(ROOT)
    code = "from sim import TrustModel, load_scenario\n" + example.replace(
        '"network.png"', repr(str(tmp_path / "network.png"))
    )
    scope: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert (tmp_path / "network.png").stat().st_size > 5_000
    people = scope["people"]
    assert len(people) == 21 * 13  # weeks 0 to 20, 13 people
    plt.close("all")
