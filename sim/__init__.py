"""trustsim: an agent-based model of how trust between colleagues decides whether they learn."""

from sim.agents import TeamMember
from sim.model import TrustModel
from sim.scenario import PRESETS, Scenario, ScenarioError, load_scenario, preset

__all__ = [
    "PRESETS",
    "Scenario",
    "ScenarioError",
    "TeamMember",
    "TrustModel",
    "__version__",
    "load_scenario",
    "preset",
]
__version__ = "0.1.0"
