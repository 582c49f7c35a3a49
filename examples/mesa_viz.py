"""The trust model in Mesa's own SolaraViz: the Mesa-native alternative to the workshop app.

Built only from Mesa's visualization components: the trust network (Mesa's space
component on `model.grid`; colour is the role, size the person's skill), plots of the
model's measures, and sliders from the Scenario's parameter ranges (`viz_params`).
Run it with

    solara run examples/mesa_viz.py

(or `.venv/bin/solara run examples/mesa_viz.py` from the project's folder) and open
the address it prints. Reset builds the model again with the sliders' values.

One thing here is not Mesa's: SolaraViz lays its components out in Solara's draggable
grid, which is blank with ipyvue 3 (mesa#3806: "GlobalVue.use is not a function"),
and the workshop app needs ipyvue 3. The page lays the same components out in a
plain wrapping row instead (`_row`), and keeps them clear of the sidebar, until a
Solara release fixes both.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz, make_plot_component, make_space_component
from mesa.visualization.components import AgentPortrayalStyle

from sim.model.agents import TeamMember
from sim.model.scenario import preset
from sim.model.trust_model import TrustModel, viz_params

SCENARIO = preset("top_down_internal")
COLOURS = {"member": "tab:blue", "coach": "tab:red", "manager": "tab:gray"}


def portray(person: TeamMember) -> AgentPortrayalStyle:
    """A person as a dot: coloured by role, larger with more skill."""
    return AgentPortrayalStyle(color=COLOURS[person.role], size=30 + 300 * person.mean_skill)


@solara.component
def _row(items, grid_layout=None, resizable=True, draggable=True, on_grid_layout=None):
    """Mesa's components side by side, wrapping (in place of the draggable grid)."""
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        for item in items:
            solara.Column(children=[item], style={"width": "640px"})


solara.GridDraggable = _row  # mesa.visualization.solara_viz calls it by this name


# Under ipyvue 3 the sidebar (a fixed 400 px drawer) lies over the main area, which
# Vuetify 3's layout does not move aside here: keep the content and title clear of it.
CLEAR_OF_SIDEBAR = """
.v-main.solara-content-main { padding-left: 400px !important; }
.v-app-bar .v-toolbar__content { padding-left: 416px !important; }
"""

model = TrustModel(SCENARIO, rng=1)


@solara.component
def Page() -> None:  # noqa: N802 (Solara's name for the page)
    """Mesa's SolaraViz, kept clear of its sidebar."""
    solara.Style(CLEAR_OF_SIDEBAR)
    SolaraViz(
        model,
        components=[
            make_space_component(portray, backend="matplotlib"),
            make_plot_component(["within_team_trust", "trust_in_coach"], backend="matplotlib"),
            make_plot_component(["mean_skill", "silence_rate"], backend="matplotlib"),
        ],
        model_params=viz_params(SCENARIO),
        name="Trust and learning in a team with a sponsored coach",
    )
