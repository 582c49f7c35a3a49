"""TeamMember: a person in the organization, as a view on the model's state arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np
from numpy.typing import NDArray

from sim.structure import ROLE_NAMES

if TYPE_CHECKING:
    from sim.model import TrustModel

__all__ = ["TeamMember"]


class TeamMember(mesa.Agent):
    """A member, manager or coach. Its state lives in the model's arrays at `index`.

    The model steps everyone at once (vectorized), so a TeamMember has no step of its
    own; it is the handle through which a user or a visualization reads one person.
    """

    model: TrustModel

    def __init__(self, model: TrustModel, index: int) -> None:
        super().__init__(model)
        self.index = index

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
        """Skill per topic (a view: writing to it changes the model)."""
        return self.model.skill[self.index]

    @property
    def mean_skill(self) -> float:
        """Mean skill over topics."""
        return float(self.model.skill[self.index].mean())

    @property
    def propensity(self) -> float:
        """Propensity to trust."""
        return float(self.model.propensity[self.index])

    @property
    def benevolence(self) -> float:
        """Probability of accepting a request for help."""
        return float(self.model.benevolence[self.index])

    @property
    def integrity(self) -> float:
        """Per help given, the probability of not breaching."""
        return float(self.model.integrity[self.index])

    def contacts(self) -> list[TeamMember]:
        """Everyone this person is in contact with."""
        net = self.model.net
        dst = net.dst[net.indptr[self.index] : net.indptr[self.index + 1]]
        return [self.model.people[j] for j in dst]

    def trust_in(self, other: TeamMember) -> float | None:
        """T[self, other], or None where the two are not in contact."""
        e = int(self.model.net.find(np.array([self.index]), np.array([other.index]))[0])
        return float(self.model.trust[e]) if e >= 0 else None
