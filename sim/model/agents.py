"""TeamMember: a person in the organization, as a view on the model's state arrays.

Each person sits on their own cell of the model's Mesa network space (`model.grid`, a
`mesa.discrete_space.Network` of the contact network), so Mesa's space components draw
the people and their contacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from mesa.discrete_space import CellAgent
from numpy.typing import ArrayLike, NDArray

from sim.model.structure import ROLE_NAMES

if TYPE_CHECKING:
    from sim.model.trust_model import TrustModel

__all__ = ["TeamMember"]


class TeamMember(CellAgent):
    """A member, manager or coach. Its state lives in the model's arrays at `index`.

    The model steps everyone at once (vectorized), so a TeamMember has no step of its
    own; it is the handle through which a user or a visualization reads one person,
    and changes their traits (`propensity`, `benevolence`, `integrity`, `skill`, each
    in [0, 1]). `remove()` is the person leaving, as turnover makes them leave.
    """

    model: TrustModel

    def __init__(self, model: TrustModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        if model.grid is not None:
            self.cell = model.grid[index]

    def remove(self) -> None:
        """This member leaves: turnover's departure (docs/ODD.md 7.18), now, between steps.

        A newcomer takes the place (fresh traits and skills, trust from the baselines, a
        new internal coach chosen if the coach left) and is a new agent,
        `model.people[index]`; this agent leaves the model and its cell.

        Raises:
            ValueError: a manager or an external coach (only front-line members leave).
        """
        model = self.model
        if model.people[self.index] is not self:
            return  # left already
        if self.index >= model.org.n_members:
            raise ValueError(
                f"person {self.index} is a {self.role}{' (external)' if self.external else ''}: "
                "only front-line members leave (turnover, docs/ODD.md 7.18)"
            )
        model.depart([self.index])

    def _leave(self) -> None:
        """Out of the model and its cell (the model has put a newcomer in this place)."""
        super().remove()

    @property
    def role(self) -> str:
        """The role: "member", "manager" or "coach"."""
        return ROLE_NAMES[int(self.model.org.role[self.index])]

    @property
    def external(self) -> bool:
        """True for an external coach."""
        return bool(self.model.org.external[self.index])

    @property
    def level(self) -> int:
        """Level in the management tree (0 = top manager)."""
        return int(self.model.org.level[self.index])

    @property
    def team(self) -> int:
        """Front-line team, or -1 for managers above the front line."""
        return int(self.model.org.team[self.index])

    @property
    def skill(self) -> NDArray[np.float64]:
        """Skill per topic in [0, 1]: a view (writing to it, or setting it, changes the run)."""
        return self.model.skill[self.index]

    @skill.setter
    def skill(self, values: ArrayLike) -> None:
        self.model.skill[self.index] = _unit(values, "skill", self.model.skill.shape[1])

    @property
    def mean_skill(self) -> float:
        """Mean skill over topics."""
        return float(self.model.skill[self.index].mean())

    @property
    def propensity(self) -> float:
        """Propensity to trust (the baseline of trust in new contacts: docs/ODD.md 7.3)."""
        return float(self.model.propensity[self.index])

    @propensity.setter
    def propensity(self, value: float) -> None:
        self.model.propensity[self.index] = _unit(value, "propensity")

    @property
    def benevolence(self) -> float:
        """Probability of accepting a request for help."""
        return float(self.model.benevolence[self.index])

    @benevolence.setter
    def benevolence(self, value: float) -> None:
        self.model.benevolence[self.index] = _unit(value, "benevolence")

    @property
    def integrity(self) -> float:
        """Per help given, the probability of not breaching."""
        return float(self.model.integrity[self.index])

    @integrity.setter
    def integrity(self, value: float) -> None:
        self.model.integrity[self.index] = _unit(value, "integrity")

    @property
    def trust_received(self) -> float:
        """Mean trust the person's contacts have in them (NaN without contacts)."""
        net = self.model.net
        out = np.arange(net.indptr[self.index], net.indptr[self.index + 1])
        return float(self.model.trust[net.rev[out]].mean()) if len(out) else float("nan")

    def contacts(self) -> list[TeamMember]:
        """Everyone this person is in contact with."""
        net = self.model.net
        dst = net.dst[net.indptr[self.index] : net.indptr[self.index + 1]]
        return [self.model.people[j] for j in dst]

    def trust_in(self, other: TeamMember) -> float | None:
        """T[self, other], or None where the two are not in contact."""
        e = int(self.model.net.find(np.array([self.index]), np.array([other.index]))[0])
        return float(self.model.trust[e]) if e >= 0 else None


def _unit(value: ArrayLike, name: str, size: int | None = None) -> Any:
    """The value, if every element is a number in [0, 1] (and `size` of them).

    Raises:
        ValueError: outside [0, 1], not a number, or the wrong number of topics.
    """
    arr = np.asarray(value, dtype=float)
    if size is not None and arr.shape not in ((), (size,)):
        raise ValueError(f"{name} = {value!r}: one value or {size} (one per topic)")
    if size is None and arr.shape != ():
        raise ValueError(f"{name} = {value!r}: one number in [0, 1]")
    if not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise ValueError(f"{name} = {value!r} is not allowed: {name} goes from 0 to 1")
    return arr if size is not None else float(arr)
