"""TrustModel (sim/model/trust_model.py) against docs/ODD.md: output, reproducibility, events."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import PRESETS, TeamMember, TrustModel, preset
from sim.model import kernels, mechanisms
from sim.model.events import EVENT_TYPES
from sim.model.measures import MEASURES
from sim.model.structure import COACH, MANAGER, MEMBER, contact_pairs

ROOT = Path(__file__).resolve().parents[1]

# docs/ODD.md, "What is measured", with its names; fragmentation is reported as the number
# of components and the largest one's share.
MODEL_MD_MEASURES = {
    "mean_trust",
    "within_team_trust",
    "trust_in_managers",
    "trust_in_coach",
    "cross_team_trust",
    "mean_skill",
    "skill_p10",
    "skill_gini",
    "needs",
    "asks",
    "silence_rate",
    "help_success_rate",
    "breaches",
    "fragmentation",
    "largest_component_share",
}


def run(scenario=None, seed=1, **params) -> TrustModel:
    """A model run to its end (`steps`)."""
    model = TrustModel(scenario, rng=seed, **params)
    for _ in range(model.params.steps + 5):
        if not model.running:
            break
        model.step()
    return model


def table(model: TrustModel) -> pd.DataFrame:
    return model.datacollector.get_model_vars_dataframe()


def team_members(model: TrustModel, team: int) -> np.ndarray:
    """Front-line members of a team (no managers, no external coaches)."""
    org = model.org
    return np.flatnonzero(org.team[: org.n_members] == team)


def trust_values(model: TrustModel, i, j) -> np.ndarray:
    e = model.net.find(np.asarray(i), np.asarray(j))
    assert (e >= 0).all(), "pairs expected to be in contact"
    return model.trust[e]


def served_by_coach(model: TrustModel) -> tuple[np.ndarray, np.ndarray]:
    """(member, coach) for every member served by a coach who is not that member."""
    org = model.org
    learners, coaches = [], []
    for t, c in enumerate(org.coach_of_team):
        if c < 0:
            continue
        mem = team_members(model, t)
        mem = mem[mem != c]
        learners.append(mem)
        coaches.append(np.full(len(mem), c))
    return np.concatenate(learners), np.concatenate(coaches)


def assert_state_in_bounds(model: TrustModel) -> None:
    for name, x in (
        ("trust", model.trust),
        ("baseline", model.baseline),
        ("skill", model.skill),
    ):
        assert not np.isnan(x).any(), f"NaN in {name}"
        assert x.min() >= 0.0, f"{name} below 0: {x.min()}"
        assert x.max() <= 1.0, f"{name} above 1: {x.max()}"


# ------------------------------------------------------------------------ output
class TestOutput:
    def test_table_has_exactly_the_measures_one_row_per_step(self):
        model = run(preset("top_down_internal", steps=15), seed=3)
        df = table(model)
        assert set(MEASURES) == MODEL_MD_MEASURES
        assert list(df.columns) == ["step", *MEASURES]
        assert len(df) == 15 + 1
        assert df["step"].tolist() == list(range(16))
        assert not model.running
        assert model.steps == 15

    def test_summary(self):
        model = run(preset("hybrid", steps=12), seed=2)
        df = table(model)
        s = model.summary()
        expected = {*MEASURES, *(f"{m}_avg" for m in MEASURES)}
        assert set(s) == expected | {"time_to_competence", "disintegrated"}
        later = df[df["step"] >= 1]
        for m in MEASURES:
            final, avg = df[m].iloc[-1], later[m].mean()
            if isinstance(final, float) and math.isnan(final):
                assert math.isnan(s[m])
            else:
                assert s[m] == pytest.approx(final)
            if isinstance(avg, float) and math.isnan(avg):
                assert math.isnan(s[f"{m}_avg"])
            else:
                assert s[f"{m}_avg"] == pytest.approx(avg)
        # disintegrated: some team's largest bonded component is under half at the end
        teams = model.datacollector.get_table_dataframe("teams")
        last = teams[teams["step"] == teams["step"].max()]
        assert s["disintegrated"] == bool((last["largest_component_share"] < 0.5).any())

    def test_time_to_competence(self):
        df = table(run(preset("peer_led", steps=30), seed=4))
        target = float(df["mean_skill"].iloc[10])  # reached at step 10 or before
        s = run(preset("peer_led", steps=30, competence_target=target), seed=4).summary()
        first = int(df.loc[df["mean_skill"] >= target, "step"].iloc[0])
        assert s["time_to_competence"] == first <= 10
        never = run(preset("peer_led", steps=30, competence_target=1.0), seed=4).summary()
        assert never["time_to_competence"] is None

    def test_measures_missing_where_nothing_to_measure(self):
        df = table(run(preset("no_coaching", steps=3), seed=1))
        assert df["trust_in_coach"].isna().all()  # no coach
        assert df["cross_team_trust"].isna().all()  # levels = 1: one team
        df = table(run(preset("top_down_internal", steps=3, levels=2, members=24), seed=1))
        assert df["trust_in_coach"].notna().all()
        assert df["cross_team_trust"].notna().all()

    def test_measures_in_range(self):
        df = table(run(preset("hybrid", steps=20, levels=2, members=24), seed=5))
        for m in ("mean_trust", "within_team_trust", "trust_in_managers", "trust_in_coach"):
            assert df[m].between(0, 1).all()
        for m in ("mean_skill", "skill_p10", "skill_gini"):
            assert df[m].between(0, 1).all()
        # a rate of needs: undefined (NaN) in a week without needs, as at step 0
        assert (df["silence_rate"].isna() == (df["needs"] == 0)).all()
        assert df["silence_rate"].dropna().between(0, 1).all()
        assert (df["skill_p10"] <= df["mean_skill"]).all()
        assert (df["asks"] <= df["needs"]).all()
        assert df["help_success_rate"].dropna().between(0, 1).all()
        assert (df["largest_component_share"] <= 1).all()
        assert (df["fragmentation"] >= 1).all()


# --------------------------------------------------------------- reproducibility
class TestReproducibility:
    def test_same_seed_identical_tables(self):
        a = run(preset("hybrid", steps=25), seed=11)
        b = run(preset("hybrid", steps=25), seed=11)
        pd.testing.assert_frame_equal(table(a), table(b))
        pd.testing.assert_frame_equal(
            a.datacollector.get_table_dataframe("teams"),
            b.datacollector.get_table_dataframe("teams"),
        )
        np.testing.assert_array_equal(a.trust, b.trust)
        np.testing.assert_array_equal(a.skill, b.skill)

    def test_different_seeds_differ(self):
        a = table(run(preset("hybrid", steps=25), seed=11))
        b = table(run(preset("hybrid", steps=25), seed=12))
        assert not a.equals(b)
        assert (a["mean_trust"] != b["mean_trust"]).any()

    def test_seed_attribute_and_seed_sequence_reproduce_the_run(self):
        a = run(preset("peer_led", steps=10), seed=123)
        assert a.seed == 123
        b = run(preset("peer_led", steps=10), seed=np.random.SeedSequence(a.seed))
        pd.testing.assert_frame_equal(table(a), table(b))

    def test_identical_in_another_process(self, tmp_path):
        # docs/ODD.md: identical output "in any process" (here with a different hash seed)
        out = tmp_path / "table.pkl"
        code = textwrap.dedent(
            f"""
            import pickle
            from sim import TrustModel, preset
            m = TrustModel(preset("hybrid", steps=15, levels=2, members=24), rng=99)
            m.run_model()
            with open({str(out)!r}, "wb") as f:
                pickle.dump(m.datacollector.get_model_vars_dataframe(), f)
            """
        )
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": "12345"},
            timeout=120,
        )
        with out.open("rb") as f:
            other = pickle.load(f)
        here = table(run(preset("hybrid", steps=15, levels=2, members=24), seed=99))
        pd.testing.assert_frame_equal(here, other)

    def test_batch_run(self):
        rows = mesa.batch_run(
            TrustModel,
            parameters={"members": [12], "peer_coaching": [True, False]},
            rng=[1, 2],
            max_steps=20,
            number_processes=1,
            data_collection_period=1,
            display_progress=False,
        )
        df = pd.DataFrame(rows)
        assert set(MEASURES) <= set(df.columns)
        # 2 regimes x 2 seeds, each with the initial row and 20 steps
        assert len(df) == 4 * 21
        assert df.groupby(["peer_coaching", "rng"]).size().tolist() == [21] * 4
        assert df["Step"].max() == 20
        # the same seed, run directly, gives the same rows
        direct = table(run(None, seed=2, members=12, peer_coaching=True, steps=20))
        batch = df[(df["rng"] == 2) & df["peer_coaching"]].sort_values("Step")
        np.testing.assert_allclose(
            batch["mean_trust"].to_numpy(), direct["mean_trust"].to_numpy(), rtol=0, atol=0
        )


# ---------------------------------------------------------- common random numbers
class TestCommonRandomNumbers:
    def test_peer_coaching_leaves_needs_unchanged(self):
        off = table(run(preset("no_coaching", steps=30), seed=8))
        on = table(run(preset("peer_led", steps=30), seed=8))
        pd.testing.assert_series_equal(off["needs"], on["needs"])
        assert not off["mean_trust"].equals(on["mean_trust"])  # the regimes do differ

    @pytest.mark.parametrize("levels", [1, 2])
    def test_coach_regime_leaves_needs_unchanged(self, levels):
        kw = {"steps": 30, "levels": levels, "members": 24}
        needs = {
            coach: table(run(None, seed=8, coach=coach, sponsor="none", **kw))["needs"]
            for coach in ("none", "internal", "external")
        }
        pd.testing.assert_series_equal(needs["none"], needs["internal"])
        pd.testing.assert_series_equal(needs["none"], needs["external"])

    def test_initial_skills_identical_across_presets(self):
        models = {name: TrustModel(preset(name), rng=21) for name in PRESETS}
        base = models["no_coaching"]
        n = base.org.n_members
        for name, m in models.items():
            np.testing.assert_array_equal(
                m.propensity[: m.n_staff], base.propensity[: base.n_staff]
            )
            coaches = m.org.coach_of_team[m.org.coach_of_team >= 0]
            internal = coaches[coaches < n]
            others = np.setdiff1d(np.arange(n), internal)
            np.testing.assert_array_equal(m.skill[others], base.skill[others], err_msg=name)
            # an internal coach is the same draw plus coach_training (docs/ODD.md)
            expected = np.minimum(1.0, base.skill[internal] + m.params.coach_training)
            np.testing.assert_allclose(m.skill[internal], expected, rtol=0, atol=1e-15)
            # managers start at manager_skill
            assert (m.skill[n : m.n_staff] == m.params.manager_skill).all()

    @pytest.mark.parametrize("name", list(PRESETS))
    def test_initial_trust_among_staff_identical_across_presets(self, name):
        """Initial trust between members and managers is a mechanism all regimes share.

        docs/ODD.md: "Two scenarios run with the same seed share their random draws wherever
        their mechanisms coincide (common random numbers)"; structure.py: "Keeping that
        order fixed makes the draws of members and managers line up across regimes".
        """
        base = TrustModel(preset("no_coaching", levels=2, members=24), rng=21)
        m = TrustModel(preset(name, levels=2, members=24), rng=21)
        staff = ~m.org.external[m.net.src] & ~m.org.external[m.net.dst]
        src, dst = m.net.src[staff], m.net.dst[staff]
        np.testing.assert_array_equal(
            m.trust[staff],
            trust_values(base, src, dst),
            err_msg=f"{name}: initial trust between the same two people differs from "
            "no_coaching with the same seed",
        )


# ------------------------------------------------------------------- invariants
PARAM_STRATEGY = st.fixed_dictionaries(
    {
        "members": st.integers(2, 30),
        "levels": st.integers(1, 3),
        "trust_gain": st.floats(0, 1),
        "trust_loss": st.floats(0, 1),
        "gossip_rate": st.floats(0, 1),
        "gossip_weight": st.floats(0, 1),
        "refusal_loss": st.floats(0, 1),
        "breach_loss": st.floats(0, 1),
        "sponsorship_strength": st.floats(0, 1),
        "hierarchy_attenuation": st.floats(0, 1),
        "coach_development": st.floats(0, 1),
        "coach_training": st.floats(0, 1),
        "learning_rate": st.floats(0, 1),
        "teaching_gain": st.floats(0, 1),
        "self_learning_rate": st.floats(0, 1),
        "trust_selectivity": st.floats(0, 10),
        "trust_sensitivity": st.floats(0, 10),
        "need_rate": st.floats(0, 1),
        "manager_need_rate": st.floats(0, 1),
        "turnover_rate": st.floats(0, 1),
        "trust_decay": st.floats(0, 1),
        "skill_decay": st.floats(0, 1),
        "peer_recognition": st.floats(0, 1),
        "initial_trust_scale": st.floats(0, 2),
        "management_trust_scale": st.floats(0, 2),
        "power_distance": st.floats(0, 1),
        "integrity_mean": st.floats(0.01, 0.99),
        "benevolence_mean": st.floats(0.02, 0.98),
        "beta_forgetting": st.floats(0, 1),
        "coach": st.sampled_from(["none", "internal", "external"]),
        "coach_selection": st.sampled_from(["most_trusted", "most_skilled", "random"]),
        "sponsor": st.sampled_from(["none", "manager", "top"]),
        "peer_coaching": st.booleans(),
        "trust_rule": st.sampled_from(["asymmetric", "beta"]),
        "events": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(list(EVENT_TYPES)),
                    "at": st.integers(1, 20),
                }
            ),
            max_size=3,
        ),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(params=PARAM_STRATEGY, seed=st.integers(0, 2**32 - 1))
def test_trust_and_skill_stay_in_unit_interval(params, seed):
    model = TrustModel(rng=seed, steps=20, **params)
    assert_state_in_bounds(model)
    for _ in range(20):
        model.step()
        assert_state_in_bounds(model)
    assert not model.running
    df = table(model)
    for m in ("mean_trust", "within_team_trust", "mean_skill", "skill_p10"):
        assert df[m].between(0, 1).all(), m
    assert df["silence_rate"].dropna().between(0, 1).all()
    assert df["help_success_rate"].dropna().between(0, 1).all()


@pytest.mark.parametrize("name", list(PRESETS))
def test_beta_rule_runs_and_keeps_bounds(name):
    model = run(preset(name, steps=30, trust_rule="beta", levels=2, members=24), seed=6)
    assert_state_in_bounds(model)
    assert (model.evidence >= 2.0 - 1e-12).all()
    assert table(model)["asks"].sum() > 0


def test_turnover_runs_keeps_bounds_and_one_coach_per_team():
    model = TrustModel(preset("hybrid", steps=30, turnover_rate=0.2), rng=6)
    first_ids = [p.unique_id for p in model.people]
    for _ in range(30):
        model.step()
        assert_state_in_bounds(model)
        roles = model.org.role[: model.org.n_members]
        assert (roles == COACH).sum() == model.org.n_teams
        assert model.org.role[model.org.coach_of_team[0]] == COACH
    assert [p.unique_id for p in model.people] != first_ids
    assert len(model.agents) == model.org.n_people


def test_large_organization():
    model = run(preset("top_down_internal", steps=5, members=1200, levels=3), seed=1)
    assert model.org.n_members == 1200
    assert model.org.n_teams > 50  # no per-team table by default
    s = model.summary()
    assert not math.isnan(s["cross_team_trust"])
    assert 0 <= s["cross_team_trust"] <= 1
    assert len(table(model)) == 6
    assert_state_in_bounds(model)


# ----------------------------------------------------------------------- regimes
class TestRegimes:
    def test_internal_coach_one_member_per_team(self):
        model = TrustModel(preset("top_down_internal", levels=3, members=48), rng=4)
        org = model.org
        for t in range(org.n_teams):
            mem = team_members(model, t)
            coaches = mem[org.role[mem] == COACH]
            assert len(coaches) == 1
            assert org.coach_of_team[t] == coaches[0]
            assert coaches[0] < org.n_members
        assert (org.role == COACH).sum() == org.n_teams
        assert not org.external.any()
        assert (model.benevolence[org.coach_of_team] == 0.9).all()

    def test_internal_coach_keeps_relationships_and_gets_training(self):
        base = TrustModel(preset("no_coaching", levels=2, members=24), rng=4)
        model = TrustModel(preset("top_down_internal", levels=2, members=24), rng=4)
        np.testing.assert_array_equal(model.trust, base.trust)
        np.testing.assert_array_equal(model.net.key, base.net.key)
        c = model.org.coach_of_team
        np.testing.assert_allclose(model.skill[c], np.minimum(1, base.skill[c] + 0.1))

    def test_most_trusted_coach_has_highest_incoming_trust(self):
        model = TrustModel(preset("top_down_internal", levels=2, members=24), rng=9)
        org = model.org
        for t in range(org.n_teams):
            mates = np.flatnonzero(org.team == t)  # teammates, front-line manager included
            mem = team_members(model, t)
            score = [
                trust_values(model, mates[mates != j], np.full(len(mates) - 1, j)).mean()
                for j in mem
            ]
            assert org.coach_of_team[t] == mem[int(np.argmax(score))]

    def test_most_skilled_coach(self):
        base = TrustModel(preset("no_coaching", levels=2, members=24), rng=9)
        model = TrustModel(
            preset("top_down_internal", levels=2, members=24, coach_selection="most_skilled"),
            rng=9,
        )
        for t in range(model.org.n_teams):
            mem = team_members(model, t)
            best = mem[int(np.argmax(base.skill[mem].mean(axis=1)))]
            assert model.org.coach_of_team[t] == best

    def test_external_coach_one_new_agent_per_team(self):
        base = TrustModel(preset("no_coaching", levels=2, members=24), rng=4)
        model = TrustModel(preset("top_down_external", levels=2, members=24), rng=4)
        org = model.org
        assert org.n_people == base.org.n_people + org.n_teams
        coaches = np.flatnonzero(org.external)
        assert len(coaches) == org.n_teams
        assert (org.role[coaches] == COACH).all()
        assert (org.role[: org.n_members] == MEMBER).all()
        assert (model.skill[coaches] == model.params.external_skill).all()
        assert (model.benevolence[coaches] == 0.9).all()
        # members' initial trust in them is p_i * external_trust_discount (+ noise)
        learners, c = served_by_coach(model)
        t = trust_values(model, learners, c)
        resid = t / 0.6 - model.propensity[learners]
        assert np.abs(resid).max() < 5 * 0.05
        assert abs(resid.mean()) < 0.05

    @pytest.mark.parametrize(
        ("name", "peer"), [("top_down_internal", False), ("hybrid", True), ("peer_led", True)]
    )
    def test_capacity(self, name, peer):
        model = TrustModel(
            preset(name, coach_capacity=5, peer_capacity=3, levels=2, members=24), rng=1
        )
        org = model.org
        assert (model.capacity[org.role == MANAGER] == 1).all()
        assert (model.capacity[org.role == COACH] == 5).all()
        members = org.role == MEMBER
        assert (model.capacity[members] == (3 if peer else 1)).all()

    def test_external_coach_capacity(self):
        model = TrustModel(preset("top_down_external", coach_capacity=7), rng=1)
        assert (model.capacity[model.org.external] == 7).all()
        assert (model.capacity[: model.org.n_members] == 1).all()

    def test_coach_development_while_sponsored(self):
        # no needs, so the coach's skill moves only by development
        kw = {"need_rate": 0.0, "manager_need_rate": 0.0, "steps": 3}
        model = TrustModel(preset("top_down_internal", **kw), rng=3)
        c = model.org.coach_of_team[0]
        s0 = model.skill[c].copy()
        model.step()
        np.testing.assert_allclose(model.skill[c], s0 + 0.02 * np.maximum(0, 0.8 - s0))
        none = TrustModel(preset("top_down_internal", sponsor="none", **kw), rng=3)
        none.step()
        np.testing.assert_array_equal(none.skill[c], s0)

    @pytest.mark.parametrize("levels", [1, 2, 3])
    def test_null_sponsor_changes_nothing(self, levels):
        # docs/ODD.md: with sponsorship_strength = 0 and coach_development = 0, a sponsor
        # changes nothing
        kw = {
            "steps": 30,
            "levels": levels,
            "members": 24,
            "sponsorship_strength": 0.0,
            "coach_development": 0.0,
        }
        a = run(preset("top_down_internal", **kw), seed=13)
        b = run(preset("top_down_internal", sponsor="none", **kw), seed=13)
        pd.testing.assert_frame_equal(table(a), table(b))
        np.testing.assert_array_equal(a.trust, b.trust)

    def test_sponsor_matters_by_default(self):
        a = table(run(preset("top_down_internal", steps=30), seed=13))
        b = table(run(preset("top_down_internal", sponsor="none", steps=30), seed=13))
        assert not a["trust_in_coach"].equals(b["trust_in_coach"])


# -------------------------------------------------------------------- endorsement
# Nothing but endorsement moves trust in the coach: no needs, gossip or decay.
ONLY_SPONSOR = {"steps": 20, "need_rate": 0.0, "manager_need_rate": 0.0, "gossip_rate": 0.0}


def endorsed_weeks(model: TrustModel) -> list[int]:
    """The weeks in which trust in the coach rose: the endorsements."""
    frame = table(model)
    rose = frame["trust_in_coach"].diff() > 0
    return frame.loc[rose, "step"].tolist()


class TestEndorsement:
    def test_no_transfer_when_nobody_trusts_management(self):
        model = TrustModel(preset("top_down_internal", management_trust_scale=0.0), rng=2)
        learners, _ = served_by_coach(model)
        assert (trust_values(model, learners, model.org.boss[learners]) == 0).all()
        before = model.trust.copy()
        model._endorse()
        np.testing.assert_array_equal(model.trust, before)

    @pytest.mark.parametrize("sponsor", ["top", "manager"])
    def test_endorsement_raises_trust_in_coach(self, sponsor):
        model = TrustModel(preset("top_down_internal", sponsor=sponsor), rng=2)
        learners, c = served_by_coach(model)
        before = trust_values(model, learners, c)
        model._endorse()
        after = trust_values(model, learners, c)
        assert (after >= before).all()
        assert after.mean() > before.mean()

    @pytest.mark.parametrize("sponsor", ["top", "manager"])
    @pytest.mark.parametrize("levels", [1, 2, 3])
    def test_endorsement_formula_along_the_reporting_chain(self, sponsor, levels):
        """T[i, c] += strength * prod(trust up the chain) * att ** (d - 1) * (1 - T[i, c])."""
        model = TrustModel(
            preset("top_down_internal", sponsor=sponsor, levels=levels, members=24), rng=5
        )
        org = model.org
        top = int(np.flatnonzero((org.role == MANAGER) & (org.level == 0))[0])
        learners, c = served_by_coach(model)
        # the front-line managers are served too, unless they are the sponsor
        if sponsor == "top" and levels > 1:
            learners = np.concatenate([learners, org.team_manager])
            c = np.concatenate([c, org.coach_of_team])
        expected = []
        for i, coach in zip(learners, c, strict=True):
            s = top if sponsor == "top" else int(org.team_manager[org.team[i]])
            chain, cur = 1.0, int(i)
            while cur != s:
                chain *= trust_values(model, [cur], [org.boss[cur]])[0]
                cur = int(org.boss[cur])
            d = org.level[i] - org.level[s]
            t = trust_values(model, [i], [coach])[0]
            expected.append(mechanisms.sponsorship_transfer(t, chain, d, 0.3, 0.7))
        model._endorse()
        np.testing.assert_allclose(trust_values(model, learners, c), expected, rtol=1e-12)

    def test_endorsement_fades_down_the_hierarchy(self):
        def mean_increase(levels: int) -> float:
            model = TrustModel(preset("top_down_internal", levels=levels, members=12), rng=2)
            learners, c = served_by_coach(model)
            before = trust_values(model, learners, c)
            model._endorse()
            return float((trust_values(model, learners, c) - before).mean())

        flat, tall = mean_increase(1), mean_increase(3)
        assert flat > 0
        assert 0 <= tall < flat

    @pytest.mark.parametrize(
        ("start", "steps"),
        # every sponsor_interval (4) steps; sponsor_start: weeks before endorsements start
        [(0, [1, 5, 9, 13, 17]), (3, [4, 8, 12, 16, 20])],
    )
    def test_endorsement_schedule(self, start, steps):
        model = TrustModel(preset("top_down_internal", sponsor_start=start, **ONLY_SPONSOR), rng=1)
        model.run_model()
        assert endorsed_weeks(model) == steps


# ------------------------------------------------------------------------- events
class TestEvents:
    def test_breach_event_drops_trust_in_coach(self):
        kw = {"steps": 10}
        a = table(run(preset("top_down_internal", **kw), seed=4))
        b = table(run(preset("top_down_internal", events=[{"type": "breach", "at": 5}], **kw), 4))
        pd.testing.assert_frame_equal(a.iloc[:5], b.iloc[:5])  # nothing before the event
        assert b["trust_in_coach"].iloc[5] < a["trust_in_coach"].iloc[5] - 0.1
        # the coach breaches towards everyone it serves: 11 teammates and the manager
        assert b["breaches"].iloc[5] >= 12

    def test_breach_event_by_hand(self):
        kw = {"steps": 10, "breach_loss": 0.5}
        model = TrustModel(preset("top_down_internal", **kw), rng=4)
        learners, c = served_by_coach(model)
        before = trust_values(model, learners, c)
        model.breach_by_role("coach")
        after = trust_values(model, learners, c)
        # each learner is breached once (halved) and hears of the others' breaches
        assert (after <= before * 0.5 + 1e-12).all()

    def test_sponsor_withdraws_and_returns(self):
        events = [{"type": "sponsor_withdraws", "at": 3}, {"type": "sponsor_returns", "at": 10}]
        model = TrustModel(preset("top_down_internal", events=events, **ONLY_SPONSOR), rng=1)
        model.run_model()
        assert endorsed_weeks(model) == [1, 13, 17]

    def test_sponsor_withdraws_at_once_equals_no_sponsor(self):
        kw = {"steps": 20}
        gone = [{"type": "sponsor_withdraws", "at": 1}]
        a = table(run(preset("top_down_internal", events=gone, **kw), seed=7))
        b = table(run(preset("top_down_internal", sponsor="none", **kw), seed=7))
        pd.testing.assert_frame_equal(a, b)

    def test_turnover_wave_replaces_half_the_members(self):
        model = TrustModel(
            preset(
                "hybrid",
                steps=5,
                members=12,
                events=[{"type": "turnover_wave", "at": 2, "fraction": 0.5}],
            ),
            rng=3,
        )
        n = model.org.n_members
        ids = [p.unique_id for p in model.people]
        model.step()
        assert [p.unique_id for p in model.people] == ids
        model.step()
        now = [p.unique_id for p in model.people]
        changed = [i for i in range(len(ids)) if now[i] != ids[i]]
        assert len(changed) == n // 2
        assert all(i < n for i in changed)  # managers stay
        assert len(model.agents) == model.org.n_people
        assert all(p in model.agents for p in model.people)
        assert (model.org.role[:n] == COACH).sum() == 1
        assert_state_in_bounds(model)

    @pytest.mark.parametrize("name", ["top_down_internal", "top_down_external", "peer_led"])
    def test_reorg_keeps_team_sizes_and_bounds(self, name):
        events = [{"type": "reorg", "at": 3}]
        model = TrustModel(preset(name, steps=10, levels=2, members=48, events=events), rng=3)
        org = model.org
        n = org.n_members
        sizes = np.bincount(org.team[:n], minlength=org.n_teams)
        teams = org.team[:n].copy()
        coaches = org.coach_of_team.copy()
        model.run_model()
        assert (np.bincount(org.team[:n], minlength=org.n_teams) == sizes).all()
        assert (org.team[:n] != teams).any()  # people did move
        assert (org.boss[:n] == org.team_manager[org.team[:n]]).all()
        np.testing.assert_array_equal(org.coach_of_team, coaches)
        assert (org.team[coaches[coaches >= 0]] == np.flatnonzero(coaches >= 0)).all()
        assert_state_in_bounds(model)
        # the network follows the new teams
        src, dst = contact_pairs(org)
        np.testing.assert_array_equal(model.net.key, src * org.n_people + dst)

    def test_reorg_new_pairs_start_at_baseline(self):
        model = TrustModel(preset("peer_led", levels=2, members=48), rng=3)
        for _ in range(5):
            model.step()
        old = {
            (int(i), int(j)): (t, b)
            for i, j, t, b in zip(
                model.net.src, model.net.dst, model.trust, model.baseline, strict=True
            )
        }
        model.reorg()
        new_pairs = 0
        for i, j, t, b in zip(
            model.net.src, model.net.dst, model.trust, model.baseline, strict=True
        ):
            if (int(i), int(j)) in old:
                assert (t, b) == old[(int(i), int(j))]
            else:
                new_pairs += 1
                assert t == b
        assert new_pairs > 0
        assert_state_in_bounds(model)


# ------------------------------------------------------------------------- agents
class TestAgents:
    def test_every_person_is_a_team_member_agent(self):
        model = TrustModel(preset("top_down_external", levels=2, members=24), rng=1)
        assert len(model.agents) == model.org.n_people == len(model.people)
        for k, person in enumerate(model.people):
            assert isinstance(person, TeamMember)
            assert isinstance(person, mesa.Agent)
            assert person in model.agents
            assert person.index == k
        roles = [p.role for p in model.people]
        assert roles.count("coach") == model.org.n_teams
        assert roles.count("manager") == int((model.org.role == MANAGER).sum())
        assert all(p.external for p in model.people if p.role == "coach")

    def test_skill_is_a_view(self):
        model = TrustModel(rng=1)
        person = model.people[3]
        np.testing.assert_array_equal(person.skill, model.skill[3])
        assert np.shares_memory(person.skill, model.skill)
        person.skill[0] = 0.777
        assert model.skill[3, 0] == 0.777
        assert person.mean_skill == pytest.approx(model.skill[3].mean())

    def test_trust_in(self):
        model = TrustModel(preset("no_coaching", levels=2, members=24), rng=1)
        org = model.org
        a, b = model.people[0], model.people[1]
        assert org.team[0] == org.team[1]
        assert a.trust_in(b) == trust_values(model, [0], [1])[0]
        assert b.trust_in(a) == trust_values(model, [1], [0])[0]
        other = int(np.flatnonzero(org.team[: org.n_members] != org.team[0])[0])
        assert a.trust_in(model.people[other]) is None
        assert a.trust_in(a) is None
        assert {p.index for p in a.contacts()} == set(model.net.dst[model.net.src == 0].tolist())

    def test_traits(self):
        model = TrustModel(rng=1)
        p = model.people[2]
        assert p.propensity == model.propensity[2]
        assert p.benevolence == model.benevolence[2]
        assert p.integrity == model.integrity[2]
        assert p.level == 1
        assert p.team == 0
        assert model.people[12].role == "manager"
        assert model.people[12].level == 0


# ----------------------------------------------------------- the step, on the model
QUIET = {"need_rate": 0.0, "manager_need_rate": 0.0, "gossip_rate": 0.0}


def test_need_rates_members_and_managers():
    kw = {"steps": 5, "levels": 2, "members": 24, "gossip_rate": 0.0}
    managers = run(preset("top_down_internal", need_rate=0.0, manager_need_rate=1.0, **kw))
    n_managers = int((managers.org.role == MANAGER).sum())
    assert (table(managers)["needs"].iloc[1:] == n_managers).all()
    members = run(preset("top_down_external", need_rate=1.0, manager_need_rate=0.0, **kw))
    # every member (the internal coach too), but no manager and no external coach
    assert (table(members)["needs"].iloc[1:] == 24).all()


def test_need_topic_weighted_by_what_is_not_known():
    model = TrustModel(rng=1, topics=3)
    model.skill[0] = [0.0, 0.5, 1.0]  # weights 1, 0.5, 0
    u = (np.arange(30_000) + 0.5) / 30_000
    topic = model._need_topic(np.zeros(len(u), dtype=np.int64), u)
    share = np.bincount(topic, minlength=3) / len(u)
    np.testing.assert_allclose(share, [2 / 3, 1 / 3, 0], atol=1e-3)


def test_trust_decays_toward_baseline():
    model = TrustModel(preset("no_coaching", trust_decay=0.1, **QUIET), rng=2)
    base = model.baseline.copy()
    model.trust = np.clip(model.trust + np.linspace(-0.3, 0.3, model.net.n_edges), 0, 1)
    before = model.trust.copy()
    model.step()
    np.testing.assert_allclose(model.trust, before + 0.1 * (base - before))


def test_skill_decay():
    model = TrustModel(preset("no_coaching", skill_decay=0.1, **QUIET), rng=2)
    before = model.skill.copy()
    model.step()
    np.testing.assert_allclose(model.skill, before * 0.9)


def test_newcomers_start_from_baseline():
    model = TrustModel(preset("top_down_internal", levels=2, members=24), rng=2)
    for _ in range(10):
        model.step()
    leavers = np.array([0, 5, 23])
    old_ids = [model.people[i].unique_id for i in leavers]
    model.replace_members(leavers, np.random.default_rng(0))
    _, out = model.net.out_edges(leavers)
    edges = np.unique(np.concatenate([out, model.net.rev[out]]))
    np.testing.assert_array_equal(model.trust[edges], model.baseline[edges])
    assert all(model.people[i].unique_id != u for i, u in zip(leavers, old_ids, strict=True))
    assert (model.org.role[: model.org.n_members] == COACH).sum() == model.org.n_teams
    assert_state_in_bounds(model)


@pytest.mark.parametrize("variant", [{"coach": "internal"}, {"coach": "external"}, {"peer": 1}])
def test_turnover_draws_shared_across_regimes(variant):
    """Who leaves when, and the newcomers' draws, do not depend on the regime (CRN)."""
    kw = {"steps": 20, "turnover_rate": 0.1, "levels": 2, "members": 24}

    def leavers(model: TrustModel) -> list[list[int]]:
        out = []
        for _ in range(20):
            ids = [p.unique_id for p in model.people[: model.org.n_members]]
            model.step()
            now = [p.unique_id for p in model.people[: model.org.n_members]]
            out.append([i for i, (a, b) in enumerate(zip(ids, now, strict=True)) if a != b])
        return out

    base = TrustModel(preset("no_coaching", **kw), rng=5)
    if "peer" in variant:
        other = TrustModel(preset("peer_led", **kw), rng=5)
    else:
        other = TrustModel(None, rng=5, coach=variant["coach"], sponsor="top", **kw)
    assert leavers(base) == leavers(other)
    n = base.n_staff
    np.testing.assert_array_equal(base.propensity[:n], other.propensity[:n])
    np.testing.assert_array_equal(base.integrity[:n], other.integrity[:n])


class TestExternalCoachIsNotATeammate:
    """docs/ODD.md: "A team is a front-line manager plus direct reports"; an external coach is
    "a new agent per team" who serves it (docs/ODD.md: "serves the team without belonging
    to it"). Hearing of a breach (docs/ODD.md step 6: "every teammate w of i") and peer
    recognition ("every teammate's trust in them") are for teammates.
    """

    def test_external_coach_does_not_hear_of_a_breach_between_members(self):
        model = TrustModel(preset("top_down_external"), rng=1)
        c = int(model.org.coach_of_team[0])
        before = trust_values(model, [c], [1])[0]
        mate_before = trust_values(model, [2], [1])[0]
        model._breach(np.array([0]), np.array([1]))  # member 1 breaches member 0
        assert trust_values(model, [2], [1])[0] < mate_before  # a teammate hears of it
        assert trust_values(model, [c], [1])[0] == before  # the external coach is no teammate

    def test_external_coach_gives_no_peer_recognition(self):
        model = TrustModel(preset("top_down_external", peer_coaching=True), rng=1)
        org, net = model.org, model.net
        c, manager = int(org.coach_of_team[0]), int(org.team_manager[0])
        # only member 1 knows topic 0 better than learner 0; help is accepted and succeeds
        model.skill[:, 0] = 0.05
        model.skill[0, 0], model.skill[1, 0] = 0.1, 0.95
        model.integrity[:] = 1.0
        s = model.n_staff
        zeros, ones = np.zeros(s), np.full(s, 0.5)
        before = {w: trust_values(model, [w], [1])[0] for w in (2, manager, c)}
        counts = kernels.learning_round(
            model.skill,
            model.trust,
            model.evidence,
            net.indptr,
            net.dst,
            net.rev,
            org.role,
            org.external,
            model.benevolence,
            model.integrity,
            model.capacity,
            np.array([0]),
            np.array([0]),
            ones,
            zeros,
            zeros,
            zeros,
            zeros,
            np.full(s, 0.99),
            model._fparams[:11],
            False,
            True,
        )
        assert tuple(counts) == (1, 0, 1, 1, 0)
        for w in (2, manager):  # teammates and the front-line manager recognise member 1
            assert trust_values(model, [w], [1])[0] == pytest.approx(before[w] + 0.02)
        assert trust_values(model, [c], [1])[0] == before[c]


@pytest.mark.parametrize("levels", [2, 3])
def test_peer_managers_hear_of_a_breach_by_their_boss(levels):
    """docs/ODD.md: "A manager is also a member of their own manager's team (managers who share
    a boss are peers)", and step 6: "every teammate w of i who trusts i hears of it":
    T[w, j] -= gossip_weight * T[w, i] * breach_loss * T[w, j].
    """
    model = TrustModel(preset("no_coaching", levels=levels, members=48), rng=1)
    org = model.org
    top = int(np.flatnonzero((org.role == MANAGER) & (org.level == 0))[0])
    victim, peer = (int(x) for x in np.flatnonzero(org.boss == top)[:2])
    t_wj, t_wi = trust_values(model, [peer, peer], [top, victim])
    model._breach(np.array([victim]), np.array([top]))
    expected = mechanisms.breach_heard(t_wj, t_wi, 0.2, 0.5)
    assert trust_values(model, [peer], [top])[0] == pytest.approx(expected)
