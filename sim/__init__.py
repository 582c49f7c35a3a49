"""trustsim: an agent-based model of how trust between colleagues decides whether they learn.

`simulate(scenario, seed)` runs a whole run on the fast path; `TrustModel` is the same
model as a Mesa model to step, inspect and visualize. TrustModel and TeamMember are
imported on first use, so that code on the fast path does not import Mesa.
"""

from typing import TYPE_CHECKING, Any

from sim.model.fast import Run, simulate
from sim.model.scenario import PRESETS, Scenario, ScenarioError, preset
from sim.model.scenario_files import load_scenario

if TYPE_CHECKING:
    from sim.model.agents import TeamMember
    from sim.model.trust_model import TrustModel

__all__ = [
    "PRESETS",
    "Run",
    "Scenario",
    "ScenarioError",
    "TeamMember",
    "TrustModel",
    "__version__",
    "load_scenario",
    "preset",
    "simulate",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """TrustModel and TeamMember, imported when first asked for (they import Mesa)."""
    if name == "TrustModel":
        from sim.model.trust_model import TrustModel

        return TrustModel
    if name == "TeamMember":
        from sim.model.agents import TeamMember

        return TeamMember
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
