"""The trust rules (sim/model/trust.py) against docs/ODD.md's formulas and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.model.trust import (
    RULES,
    asymmetric_fixed_point,
    asymmetric_update,
    beta_forget,
    beta_update,
)

GAIN, LOSS = 0.08, 0.16  # docs/ODD.md's trust_gain and trust_loss

unit = st.floats(0.0, 1.0, allow_nan=False)
sizes = st.integers(1, 50)


@st.composite
def trust_and_outcomes(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(sizes)
    trust = draw(hnp.arrays(np.float64, n, elements=unit))
    success = draw(hnp.arrays(np.bool_, n))
    return trust, success


# --- asymmetric rule -----------------------------------------------------------------------


def test_asymmetric_hand_values() -> None:
    assert asymmetric_update(0.5, True, GAIN, LOSS) == pytest.approx(0.54)
    assert asymmetric_update(0.5, False, GAIN, LOSS) == pytest.approx(0.42)
    # Success closes a share of the distance to 1; failure takes a share of trust.
    assert asymmetric_update(0.2, True, 0.5, 0.9) == pytest.approx(0.6)
    assert asymmetric_update(0.2, False, 0.5, 0.9) == pytest.approx(0.02)
    assert asymmetric_update(1.0, True, GAIN, LOSS) == pytest.approx(1.0)
    assert asymmetric_update(0.0, False, GAIN, LOSS) == pytest.approx(0.0)


def test_asymmetric_on_arrays() -> None:
    trust = np.array([0.5, 0.5, 0.0, 1.0])
    success = np.array([True, False, True, False])
    got = asymmetric_update(trust, success, GAIN, LOSS)
    np.testing.assert_allclose(got, [0.54, 0.42, 0.08, 0.84])


def test_asymmetric_losses_weigh_more_than_gains() -> None:
    # At T = 0.5 with docs/ODD.md's defaults a failure moves trust twice as far as a success.
    up = asymmetric_update(0.5, True, GAIN, LOSS) - 0.5
    down = 0.5 - asymmetric_update(0.5, False, GAIN, LOSS)
    assert down == pytest.approx(2 * up)


@given(data=trust_and_outcomes(), gain=unit, loss=unit)
def test_asymmetric_stays_in_unit_interval(
    data: tuple[np.ndarray, np.ndarray], gain: float, loss: float
) -> None:
    trust, success = data
    new = asymmetric_update(trust, success, gain, loss)
    assert new.shape == trust.shape
    assert not np.isnan(new).any()
    assert (new >= 0.0).all()
    assert (new <= 1.0).all()


@given(data=trust_and_outcomes(), gain=unit, loss=unit)
def test_asymmetric_success_raises_failure_lowers(
    data: tuple[np.ndarray, np.ndarray], gain: float, loss: float
) -> None:
    trust, success = data
    new = asymmetric_update(trust, success, gain, loss)
    assert (new[success] >= trust[success]).all()
    assert (new[~success] <= trust[~success]).all()


@given(trust=st.floats(0.01, 0.99), gain=st.floats(0.01, 1.0), loss=st.floats(0.01, 1.0))
def test_asymmetric_strictly_moves_inside_the_interval(
    trust: float, gain: float, loss: float
) -> None:
    assert asymmetric_update(trust, True, gain, loss) > trust
    assert asymmetric_update(trust, False, gain, loss) < trust


@given(data=trust_and_outcomes(), gain=unit, loss=unit)
def test_asymmetric_is_pure(data: tuple[np.ndarray, np.ndarray], gain: float, loss: float) -> None:
    trust, success = data
    trust_before, success_before = trust.copy(), success.copy()
    first = asymmetric_update(trust, success, gain, loss)
    second = asymmetric_update(trust, success, gain, loss)
    np.testing.assert_array_equal(trust, trust_before)
    np.testing.assert_array_equal(success, success_before)
    np.testing.assert_array_equal(first, second)
    assert first is not trust


@pytest.mark.parametrize(("q", "gain", "loss"), [(0.7, 0.08, 0.16), (0.3, 0.1, 0.05)])
def test_asymmetric_mean_converges_to_the_fixed_point(q: float, gain: float, loss: float) -> None:
    # docs/ODD.md: fed outcomes that succeed with probability q, and no decay, the mean
    # converges to gain * q / (gain * q + loss * (1 - q)).
    expected = gain * q / (gain * q + loss * (1 - q))
    assert asymmetric_fixed_point(q, gain, loss) == pytest.approx(expected)

    rng = np.random.default_rng(20240611)
    trust = rng.uniform(0.0, 1.0, size=20_000)
    for _ in range(400):
        trust = asymmetric_update(trust, rng.random(trust.size) < q, gain, loss)
    assert trust.min() >= 0.0
    assert trust.max() <= 1.0
    assert trust.mean() == pytest.approx(expected, abs=0.01)
    assert trust.mean() == pytest.approx(asymmetric_fixed_point(q, gain, loss), abs=0.01)


def test_asymmetric_fixed_point_hand_values() -> None:
    assert asymmetric_fixed_point(0.7, GAIN, LOSS) == pytest.approx(0.056 / 0.104)
    assert asymmetric_fixed_point(1.0, GAIN, LOSS) == pytest.approx(1.0)
    assert asymmetric_fixed_point(0.0, GAIN, LOSS) == pytest.approx(0.0)
    # With losses twice the gains, trust sits at 1/2 only when q = 2/3.
    assert asymmetric_fixed_point(2 / 3, GAIN, LOSS) == pytest.approx(0.5)


@given(q=st.floats(0.01, 0.99), gain=st.floats(0.01, 1.0), loss=st.floats(0.01, 1.0))
def test_asymmetric_fixed_point_is_where_the_expected_change_is_zero(
    q: float, gain: float, loss: float
) -> None:
    t = asymmetric_fixed_point(q, gain, loss)
    assert 0.0 <= t <= 1.0
    expected = q * asymmetric_update(t, True, gain, loss) + (1 - q) * asymmetric_update(
        t, False, gain, loss
    )
    assert expected == pytest.approx(t, abs=1e-12)


# --- beta rule -------------------------------------------------------------------------------


def test_beta_hand_values() -> None:
    # (T * n + s) / (n + 1)
    assert beta_update(0.5, True, 2.0) == pytest.approx(2 / 3)
    assert beta_update(0.5, False, 2.0) == pytest.approx(1 / 3)
    assert beta_update(0.8, True, 10.0) == pytest.approx(9 / 11)
    assert beta_update(0.8, False, 10.0) == pytest.approx(8 / 11)


@given(
    data=trust_and_outcomes(),
    evidence=st.floats(2.0, 1e6, allow_nan=False),
)
def test_beta_formula(data: tuple[np.ndarray, np.ndarray], evidence: float) -> None:
    trust, success = data
    new = beta_update(trust, success, evidence)
    np.testing.assert_allclose(new, (trust * evidence + success) / (evidence + 1), rtol=1e-12)


@given(data=trust_and_outcomes(), evidence=st.floats(2.0, 1e6, allow_nan=False))
def test_beta_stays_in_unit_interval_and_moves_the_right_way(
    data: tuple[np.ndarray, np.ndarray], evidence: float
) -> None:
    trust, success = data
    before = trust.copy()
    new = beta_update(trust, success, evidence)
    np.testing.assert_array_equal(trust, before)  # pure
    assert not np.isnan(new).any()
    assert (new >= 0.0).all()
    assert (new <= 1.0).all()
    assert (new[success] >= trust[success]).all()
    assert (new[~success] <= trust[~success]).all()


@given(trust=st.floats(0.0, 0.99), evidence=st.floats(2.0, 1000.0))
def test_beta_strictly_up_on_success(trust: float, evidence: float) -> None:
    assert beta_update(trust, True, evidence) > trust


@given(trust=st.floats(0.01, 1.0), evidence=st.floats(2.0, 1000.0))
def test_beta_strictly_down_on_failure(trust: float, evidence: float) -> None:
    assert beta_update(trust, False, evidence) < trust


def test_beta_forget_hand_values() -> None:
    # Prior mean 0.5 (weight 2), 8 successes: a = 9, n = 10, T = 0.9.
    trust, evidence = beta_forget(np.array([0.9]), np.array([10.0]), np.array([0.5]), 0.5)
    # Counts halve: a' = 1 + 4 = 5, n' = 2 + 4 = 6.
    np.testing.assert_allclose(trust, [5 / 6])
    np.testing.assert_allclose(evidence, [6.0])


def test_beta_forget_with_full_memory_changes_nothing() -> None:
    trust0, n0, prior = np.array([0.9, 0.2]), np.array([10.0, 5.0]), np.array([0.5, 0.4])
    trust, evidence = beta_forget(trust0, n0, prior, 1.0)
    np.testing.assert_allclose(trust, trust0)
    np.testing.assert_allclose(evidence, n0)


def test_beta_forget_with_no_memory_returns_to_the_prior() -> None:
    trust, evidence = beta_forget(
        np.array([0.9, 0.1]), np.array([10.0, 30.0]), np.array([0.5, 0.7]), 0.0
    )
    np.testing.assert_allclose(trust, [0.5, 0.7])
    np.testing.assert_allclose(evidence, [2.0, 2.0])


@settings(max_examples=200)
@given(
    n=sizes,
    data=st.data(),
    forgetting=unit,
)
def test_beta_forget_moves_towards_the_prior(
    n: int, data: st.DataObject, forgetting: float
) -> None:
    trust = data.draw(hnp.arrays(np.float64, n, elements=unit))
    evidence = data.draw(hnp.arrays(np.float64, n, elements=st.floats(2.0, 1e4)))
    prior = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.01, 0.99)))
    before = (trust.copy(), evidence.copy(), prior.copy())
    new_trust, new_evidence = beta_forget(trust, evidence, prior, forgetting)
    for array, copy in zip((trust, evidence, prior), before, strict=True):
        np.testing.assert_array_equal(array, copy)  # pure
    assert not np.isnan(new_trust).any()
    assert (new_trust >= 0.0).all()
    assert (new_trust <= 1.0).all()
    assert (np.abs(new_trust - prior) <= np.abs(trust - prior) + 1e-12).all()
    assert (new_evidence >= 2.0 - 1e-12).all()
    assert (new_evidence <= evidence + 1e-9).all()


def test_beta_forget_repeated_returns_to_the_prior() -> None:
    trust, evidence = np.array([0.95]), np.array([50.0])
    prior = np.array([0.3])
    for _ in range(1000):
        trust, evidence = beta_forget(trust, evidence, prior, 0.98)
    np.testing.assert_allclose(trust, prior, atol=1e-6)
    np.testing.assert_allclose(evidence, [2.0], atol=1e-6)


# --- the registry ------------------------------------------------------------------------------


def test_rules_registry() -> None:
    assert RULES["asymmetric"] is asymmetric_update
    assert RULES["beta"] is beta_update
    assert set(RULES) == {"asymmetric", "beta"}


@pytest.mark.parametrize(("name", "a", "b"), [("asymmetric", GAIN, LOSS), ("beta", 5.0, 0.0)])
def test_rules_share_one_call_shape(name: str, a: float, b: float) -> None:
    rule = RULES[name]
    trust = np.array([0.2, 0.5, 0.8, 0.2, 0.5, 0.8])
    success = np.array([True, True, True, False, False, False])
    new = rule(trust, success, a, b)
    assert new.shape == trust.shape
    assert (new[:3] > trust[:3]).all()
    assert (new[3:] < trust[3:]).all()
    assert ((new >= 0.0) & (new <= 1.0)).all()
    # Scalars work too (the model's compiled step calls the rules per pair).
    assert rule(0.5, True, a, b) > 0.5
    assert rule(0.5, False, a, b) < 0.5
