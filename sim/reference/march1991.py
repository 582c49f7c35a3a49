"""March (1991): mutual learning between an organizational code and its members.

March, J. G. (1991). Exploration and exploitation in organizational learning.
Organization Science 2(1): 71-87. The paper's text alone does not pin the model down
well enough to reproduce its Figure 1; the missing rules are those of Christensen, M.
(2015), "Reproducing March 1991" (see also Rodan, S. (2005), Exploration and
exploitation revisited, Scandinavian Journal of Management 21: 407-428), as the
re-implementations that follow Christensen read them (M. Workiewicz's Python
recreation of March's algorithm, github.com/Mac13kW/March_1991_Original, which quotes
the note rule by rule). Every rule used here, in the order of a step:

State:
    - Reality: m dimensions, each +1 or -1 with probability 1/2 (drawn at the start).
    - n individuals with beliefs in {-1, 0, +1} per dimension, drawn uniformly at the
      start; kept in one model-level int8 array `beliefs` (n x m). Each `Individual`
      (a `mesa.Agent`) is a view on its row.
    - The organizational code: m values in {-1, 0, +1}, all 0 at the start.

One step (`MarchModel.step`):
    1. Turbulence (p4): each dimension of reality flips sign with probability p4.
    2. Turnover (p3): each individual leaves with probability p3 and is replaced by a
       newcomer with uniformly drawn beliefs. The newcomer takes the leaver's row, so
       the `Individual` object of that row stands for the newcomer from then on.
    3. Acting (Christensen): each individual acts on every dimension: its action is
       its belief where the belief is +1 or -1, and a fair coin flip (+1 or -1) where
       the belief is 0. Its performance this step is (actions that match reality) -
       (actions that do not) = sum(action * reality).
    4. Superior group (Christensen): the individuals whose performance is strictly
       greater than the code's knowledge score, sum(code * reality) = (dimensions where
       the code is right) - (dimensions where it is wrong); a 0 in the code counts 0.
       So a lucky individual may be superior, an unlucky one may not (March's footnote
       1 speaks of knowledge scores; Christensen's reconstruction compares the
       performance of actions).
    5. Code learning (March's footnote 1, with Christensen's reading of "the majority
       view"): on each dimension, the superior group's view is the majority of its
       members' ACTIONS on that dimension (every action is +1 or -1, so nobody
       abstains), and k = (members whose action is the majority's) - (members whose
       action is the other) = |#(+1) - #(-1)|, the net majority. If k > 0 and the
       majority value differs from the code (including a 0 in the code), the code
       takes the majority value with probability 1 - (1 - p2)^k, independently per
       dimension; a tie (k = 0) or a majority equal to the code changes nothing. With
       no superior individual the code does not change. The code jumps to the
       majority value (it is not moved one step at a time).
    6. Socialization (March, with Christensen's gradual change): for every individual
       and every dimension where the code is non-zero and differs from the belief,
       with probability p1 the belief moves ONE step towards the code: a belief
       opposite to the code becomes 0, a 0 becomes the code's value (never -1 to +1
       in one step). Where the code is 0 beliefs do not change.
    Steps 5 and 6 are synchronous: both use the state after steps 1-2 (the code
    learns from the actions taken with the beliefs held at that point, individuals
    socialize towards the code as it was at that point), then both updates are
    applied together. Christensen's order (act, socialize, code learns) gives the same
    result, since the code learns from the actions taken before socialization.

Stopping:
    - Equilibrium (only when p3 = p4 = 0): the run stops at the first state from which
      no change has any probability, tested exactly after every step (and before the
      first). Individuals can still learn iff p1 > 0 and some belief differs from a
      non-zero code value. The code can still learn on a dimension iff p2 > 0 and some
      realizable superior group has a majority action v != code there. Individual i
      is always superior if its worst performance (every coin flip wrong) beats the
      code's score, possibly superior if its best one does; with q = the code's score,
      s_i = sum(belief * reality) and z_i = its number of 0 beliefs, always means
      s_i - z_i > q and possibly means s_i + z_i > q. The largest net count for v on
      a dimension counts: every always- or possibly-superior individual believing v,
      every always-superior individual believing 0 (its coin can show v), every other
      individual believing 0 that can be superior while acting v there
      (s_i + z_i - 1 + v * reality > q), minus every always-superior individual
      believing -v (the others can be left out). The code can learn iff that count
      is > 0 for some dimension and some v != the code's value. Consequently the code
      still learns where it is 0 and individuals are ignorant (their coin flips form
      majorities), and a state where every individual equals a code without zeros is
      an equilibrium, as March describes.
    - With p3 > 0 or p4 > 0 there is no equilibrium: the run stops after `time_limit`
      steps. The same cap guards equilibrium runs so that no run can hang; `equilibrium`
      records whether the equilibrium was reached. The default, 1000 steps, is far
      above what equilibrium runs need at m = 30, n = 50 (the slowest settings, p1 =
      0.1, take about 110 steps on average and at most 208 in 3000 runs), and
      matches `MarchSetup.time_limit` in sim.experiments.adapters.

Measures:
    - Code knowledge (March's Figure 1 "equilibrium knowledge"), returned by `run()`:
      ((dimensions where the code is right) - (dimensions where it is wrong)) / m, in
      [-1, 1]; a 0 counts 0.
    - Individual knowledge: the mean over individuals of the same quantity for beliefs.

All randomness comes from `self.rng` (the numpy Generator Mesa builds from `rng`), in a
fixed order, so a seed reproduces a run exactly.

Check against Figure 1 (1000 replications per point, seeds 1000-1999): mean equilibrium
code knowledge at p1 = 0.1, 0.5, 0.9 is 0.97, 0.84, 0.73 for p2 = 0.9; 0.95, 0.81,
0.74 for p2 = 0.5; 0.86, 0.81, 0.81 for p2 = 0.1 (flat). These agree within about
0.01 with Workiewicz's 10,000-replication table for the same rules.

Rules considered and rejected, because they do not reproduce Figure 1 (measured at
m = 30, n = 50, 80 replications):
    - Comparing an individual's NUMBER of matching actions with the code's number of
      matching dimensions. A 0 in the code then counts as a miss while a 0
      belief is a coin flip that matches half the time, so early on nearly everyone is
      "superior" and the code copies the crowd: knowledge 0.2-0.7.
    - Taking the superior group's majority over BELIEFS (0 abstaining). With the
      score comparison above this gives 0.83 falling to 0.61 (p2 = 0.9) and about
      0.70-0.73 for p2 = 0.1, well below Figure 1 and Christensen's reproduction. It
      is close to March's BASIC program as ported to NetLogo by Watts (Watts and
      Gilbert 2014, Simulating Innovation), who reports that it does not match
      Figure 1's scale at high p2.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
from numpy.typing import NDArray

__all__ = ["DEFAULT_TIME_LIMIT", "Individual", "MarchModel"]

DEFAULT_TIME_LIMIT = 1000

Int8Array = NDArray[np.int8]


class Individual(mesa.Agent):
    """One member of the organization: a view on its row of the model's belief array.

    The model steps everyone at once (vectorized), so an Individual has no step of its
    own; it is the handle through which a user reads (or sets) one person's beliefs.
    """

    model: MarchModel

    def __init__(self, model: MarchModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def beliefs(self) -> Int8Array:
        """Beliefs per dimension, each -1, 0 or +1 (a view: writing to it changes the model)."""
        return self.model.beliefs[self.index]

    @property
    def knowledge(self) -> float:
        """(Dimensions believed right - dimensions believed wrong) / m."""
        return float(np.sum(self.beliefs * self.model.reality)) / self.model.m


def _check_probability(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


class MarchModel(mesa.Model):
    """March's (1991) mutual-learning model (rules: see the module docstring).

    Attributes:
        m: dimensions of reality.
        n: individuals.
        p1: socialization rate (individuals learning from the code).
        p2: code learning rate (the code learning from the superior group).
        p3: turnover: per step, each individual's probability of being replaced.
        p4: turbulence: per step, each dimension's probability of flipping.
        time_limit: the most steps a run takes.
        reality: +1/-1 per dimension (int8, m).
        beliefs: beliefs, individuals x dimensions (int8, n x m).
        code: the organizational code (int8, m).
        individuals: the Individual agents, one per row of `beliefs`.
        steps_taken: steps run so far.
        equilibrium: True once no further change is possible (only when p3 = p4 = 0).
    """

    def __init__(
        self,
        m: int = 30,
        n: int = 50,
        p1: float = 0.1,
        p2: float = 0.5,
        p3: float = 0.0,
        p4: float = 0.0,
        rng: int | None = None,
        time_limit: int = DEFAULT_TIME_LIMIT,
    ) -> None:
        """Draw reality and the initial beliefs; the code starts all 0.

        Args:
            m: dimensions of reality (>= 1).
            n: individuals (>= 1).
            p1: socialization rate, in [0, 1].
            p2: code learning rate, in [0, 1].
            p3: turnover per step, in [0, 1].
            p4: turbulence per dimension and step, in [0, 1].
            rng: the seed of the run's numpy Generator (None: fresh entropy).
            time_limit: the most steps a run takes (>= 1).

        Raises:
            ValueError: an argument is out of range or of the wrong type.
        """
        self.m = _check_count("m", m, 1)
        self.n = _check_count("n", n, 1)
        self.p1 = _check_probability("p1", p1)
        self.p2 = _check_probability("p2", p2)
        self.p3 = _check_probability("p3", p3)
        self.p4 = _check_probability("p4", p4)
        self.time_limit = _check_count("time_limit", time_limit, 1)
        super().__init__(rng=rng)

        gen = self.rng
        self.reality: Int8Array = (gen.integers(0, 2, self.m, dtype=np.int8) * 2 - 1).astype(
            np.int8
        )
        self.beliefs: Int8Array = gen.integers(-1, 2, (self.n, self.m), dtype=np.int8)
        self.code: Int8Array = np.zeros(self.m, dtype=np.int8)
        self.individuals = [Individual(self, i) for i in range(self.n)]
        self.steps_taken = 0
        self.equilibrium = False
        self._closed = self.p3 == 0.0 and self.p4 == 0.0
        self._update_running()

    # -- measures ---------------------------------------------------------------------

    @property
    def code_knowledge(self) -> float:
        """(Dimensions where the code is right - where it is wrong) / m, in [-1, 1]."""
        return float(np.sum(self.code * self.reality)) / self.m

    @property
    def individual_knowledge(self) -> float:
        """Mean over individuals of (beliefs right - beliefs wrong) / m."""
        return float(np.sum(self.beliefs * self.reality)) / (self.m * self.n)

    def summary(self) -> dict[str, Any]:
        """The run's outcome.

        Returns:
            code_knowledge and individual_knowledge (floats in [-1, 1]),
            steps_to_equilibrium (the steps taken: to the equilibrium when it was
            reached, else to the time limit) and equilibrium (bool).
        """
        return {
            "code_knowledge": self.code_knowledge,
            "individual_knowledge": self.individual_knowledge,
            "steps_to_equilibrium": self.steps_taken,
            "equilibrium": self.equilibrium,
        }

    # -- dynamics ---------------------------------------------------------------------

    def step(self) -> None:
        """One period: turbulence, turnover, acting, then code learning and socialization.

        Code learning and socialization both use the state at the start of the period
        (after turbulence and turnover) and are applied together.
        """
        gen = self.rng
        m, n = self.m, self.n
        reality, beliefs, code = self.reality, self.beliefs, self.code

        if self.p4 > 0.0:
            flip = gen.random(m) < self.p4
            reality[flip] *= -1
        if self.p3 > 0.0:
            leave = np.flatnonzero(gen.random(n) < self.p3)
            if len(leave):
                beliefs[leave] = gen.integers(-1, 2, (len(leave), m), dtype=np.int8)

        # Acting: a 0 belief acts as a fair coin flip.
        coins = gen.integers(0, 2, (n, m), dtype=np.int8)
        actions = np.where(beliefs == 0, 2 * coins - 1, beliefs)
        performance = np.sum(actions * reality, axis=1)
        superior = performance > np.sum(code * reality)

        # Code learning from the superior group's actions (drawn every step, so the
        # stream does not depend on whether a superior group exists).
        u_code = gen.random(m)
        new_code = code
        if superior.any():
            net = np.sum(actions[superior], axis=0)
            majority = np.sign(net).astype(np.int8)
            k = np.abs(net)
            adopt = (majority != 0) & (majority != code) & (u_code < 1.0 - (1.0 - self.p2) ** k)
            if adopt.any():
                new_code = np.where(adopt, majority, code)

        # Socialization: one step towards a non-zero code, with probability p1.
        move = (gen.random((n, m)) < self.p1) & (code != 0) & (beliefs != code)
        beliefs += move * code  # -1 -> 0 -> +1 towards +1, +1 -> 0 -> -1 towards -1

        self.code = new_code.astype(np.int8, copy=False)
        self.steps_taken += 1
        self._update_running()

    def run(self) -> float:
        """Step until equilibrium (p3 = p4 = 0) or `time_limit` steps.

        Returns:
            The code's knowledge: (right - wrong dimensions of the code) / m.
        """
        while self.running:
            self.step()
        return self.code_knowledge

    # -- stopping ---------------------------------------------------------------------

    def _update_running(self) -> None:
        """Set `equilibrium` and `running` after a step (or at the start)."""
        self.equilibrium = self._closed and not self.can_change()
        self.running = not self.equilibrium and self.steps_taken < self.time_limit

    def can_change(self) -> bool:
        """True if the next step changes the beliefs or the code with positive probability.

        Ignores turnover and turbulence (with p3 or p4 > 0 there is no equilibrium);
        the exact test is described in the module docstring.
        """
        beliefs, code, reality = self.beliefs, self.code, self.reality
        if self.p1 > 0.0 and np.any((beliefs != code) & (code != 0)):
            return True
        if self.p2 == 0.0:
            return False
        score = int(np.sum(code * reality))
        zero = beliefs == 0
        z = np.sum(zero, axis=1)
        s = np.sum(beliefs * reality, axis=1)
        always = s - z > score
        possible = s + z > score  # includes always
        if not possible.any():
            return False
        for v in (1, -1):
            net = (
                np.sum((beliefs == v) & possible[:, None], axis=0)
                + np.sum(zero & always[:, None], axis=0)
                + np.sum(
                    zero & ~always[:, None] & ((s + z - 1)[:, None] + v * reality > score),
                    axis=0,
                )
                - np.sum((beliefs == -v) & always[:, None], axis=0)
            )
            if np.any((net > 0) & (code != v)):
                return True
        return False
