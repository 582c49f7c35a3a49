"""The story the workshop tells: its chapters, and the library of scenarios they draw on.

Each chapter (`CHAPTERS`) asks the room a question about one or two scenarios of the
library, records the room's guess, and is answered from the numbers
(sim.workshop.sentences.answer); after the last chapter comes the sandbox (`SANDBOX`,
its index). The library's scenarios (scenarios/*.toml) are shown under plain names a
trainer understands (`PLAIN_NAMES`); an uploaded file is validated here and may extend
only the library's files and the presets.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sim.model.scenario import Scenario, ScenarioError
from sim.model.scenario_files import describe_file, load_scenario, load_scenario_text

__all__ = [
    "CHAPTERS",
    "LIBRARY",
    "PLAIN_NAMES",
    "SANDBOX",
    "UPLOAD_LIMIT",
    "Chapter",
    "library",
    "load_upload",
    "plain_name",
    "scenario_from_upload",
]

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
UPLOAD_LIMIT = 64_000  # bytes: a scenario file is a few hundred

# Plain names for the library's scenarios and the presets; the model's name stays in a
# tooltip. An upload is shown under its own `name`.
PLAIN_NAMES = {
    "no_coaching": "No coaching",
    "top_down_internal": "Coach from the team, backed by top management",
    "top_down_external": "Coach from outside, backed by top management",
    "manager_sponsored": "Coach from the team, backed by each team's manager",
    "peer_led": "Colleagues coach each other (no coach, no sponsor)",
    "hybrid": "Coach from the team, backed by top management, and colleagues coaching",
    "beta_trust": "Coach backed by top management (trust as counted experience)",
    "breach_shock": "Coach backed by top management, who breaches trust in week 52",
    "distrusted_management": "Coach backed by top management, in a team that distrusts management",
    "distrusted_management_peer_led": "Colleagues coach each other, in a team that distrusts "
    "management",
    "external_coach_low_trust": "Coach from outside, in a team slow to trust",
    "hierarchy_1": "48 people, 1 level of hierarchy, coach backed by the top",
    "hierarchy_2": "48 people, 2 levels of hierarchy, coach backed by the top",
    "hierarchy_3": "48 people, 3 levels of hierarchy, coach backed by the top",
    "hierarchy_4": "48 people, 4 levels of hierarchy, coach backed by the top",
    "high_turnover": "Coach backed by top management, with people leaving often",
    "large_org": "A large organization: 10,000 people, 4 levels",
    "layoff_wave": "Coach backed by top management; a third of the team leaves in week 52",
    "low_trust_team": "Coach backed by top management, in a team slow to trust",
    "reorg": "Two levels of hierarchy, reorganized in week 52",
    "sponsor_withdraws": "Coach backed by top management, who stops backing in week 52",
    "field_teams": "96 people in eight teams, no coach, surveyed on psychological safety",
    "field_teams_internal_coach": "96 people in eight teams, each with a coach from the team",
    "field_teams_external_coach": "96 people in eight teams, each with a coach from outside",
}


def plain_name(key: str, scenario: Scenario | None = None) -> str:
    """What the room reads for a scenario: its plain name, else its own name."""
    if key in PLAIN_NAMES:
        return PLAIN_NAMES[key]
    return scenario.name if scenario is not None else key


def library(folder: Path = LIBRARY) -> dict[str, tuple[Scenario, str]]:
    """Every scenario file of the library: name -> (scenario, plain description)."""
    out = {}
    for path in sorted(folder.glob("*.toml")):
        out[path.stem] = (load_scenario(path), describe_file(path))
    return out


def load_upload(name: str, data: bytes, folder: Path = LIBRARY) -> tuple[Scenario, str]:
    """An uploaded scenario file, validated; it may extend presets and library files only.

    Returns:
        The scenario and the file's text (kept in a saved session).

    Raises:
        ScenarioError: one sentence naming the file and what is wrong.
    """
    if not name.lower().endswith(".toml"):
        raise ScenarioError(
            [f"{name}: only scenario files (.toml) can be opened here, not this kind of file"]
        )
    if len(data) > UPLOAD_LIMIT:
        raise ScenarioError(
            [f"{name}: {len(data):,} bytes is too big for a scenario file (at most 64 kB)"]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([f"{name}: not a text file (a scenario file is TOML text)"]) from None
    return scenario_from_upload(name, text, folder), text


def scenario_from_upload(name: str, text: str, folder: Path = LIBRARY) -> Scenario:
    """Validate uploaded TOML text; `extends` may name only a scenario of the library."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{name}: this is not valid TOML ({exc})"]) from None
    except RecursionError:
        raise ScenarioError([f"{name}: this is not valid TOML (nested too deeply)"]) from None
    parent = raw.get("extends")
    if parent is not None:
        known = sorted(p.name for p in folder.glob("*.toml"))
        if not isinstance(parent, str) or parent not in known:
            raise ScenarioError(
                [
                    f"{name}: extends = {json.dumps(parent)} is refused: an uploaded file may "
                    f"extend only a scenario of the library ({', '.join(known[:4])}, ...) "
                    "or use preset = ..."
                ]
            )
    return load_scenario_text(text, name, base=folder)


# ------------------------------------------------------------------------ chapters
@dataclass(frozen=True)
class Chapter:
    """One screen of the story: a question, the room's guess, the run, the answer."""

    title: str
    intro: str
    question: str
    left: str  # library scenario
    right: str | None  # a second side, or None
    measure: str
    kind: Literal["rise", "compare", "recover"]
    answers: tuple[str, ...]  # the guesses the facilitator can record
    verdicts: tuple[str, ...]  # the verdict (of `answer`) each guess stands for
    event_week: int = 0  # recover: the week of the scenario's event


CHAPTERS = (
    Chapter(
        "A team with no coaching",
        "Twelve colleagues and their manager. Each week some of them need help with a topic "
        "they are weak in. They ask a colleague only if they trust them enough; a good "
        "answer builds trust, a refusal or a poor answer costs more than it earned.",
        "Will the team's skill grow on its own?",
        "no_coaching",
        None,
        "mean_skill",
        "rise",
        ("It will grow", "It will stay flat", "It will fall"),
        ("rose", "hardly changed", "fell"),
    ),
    Chapter(
        "A coach from the team, backed by top management",
        "The same team. One colleague is made coach, and top management endorses the coach "
        "every few weeks: people are told to trust the coach.",
        "Will trust in the coach rise?",
        "top_down_internal",
        None,
        "trust_in_coach",
        "rise",
        ("It will rise", "It will stay flat", "It will fall"),
        ("rose", "hardly changed", "fell"),
    ),
    Chapter(
        "The same, when people distrust management",
        "The same coach and the same endorsements, in a team that barely trusts its managers. "
        "An endorsement passes on only as much trust as the sponsor has.",
        "Will the coach be trusted as much as when management is trusted?",
        "distrusted_management",
        "top_down_internal",
        "trust_in_coach",
        "compare",
        ("Less (left lower)", "About the same", "More (left higher)"),
        ("right", "same", "left"),
    ),
    Chapter(
        "Colleagues coaching each other",
        "No coach and no sponsor: everyone may help a few colleagues a week. Here, in a team "
        "that distrusts management, beside the coach backed by that management.",
        "Which team learns more?",
        "distrusted_management_peer_led",
        "distrusted_management",
        "mean_skill",
        "compare",
        ("Colleagues coaching (left)", "About the same", "The sponsored coach (right)"),
        ("left", "same", "right"),
    ),
    Chapter(
        "A breach, and the slow recovery",
        "The coach backed by top management, as before. In week 52 the coach breaches "
        "trust: a broken promise towards everyone they serve.",
        "Will trust in the coach be back where it was within a year?",
        "breach_shock",
        None,
        "trust_in_coach",
        "recover",
        ("Yes, fully", "Partly", "No"),
        ("recovered", "partly recovered", "stayed down"),
        event_week=52,
    ),
    Chapter(
        "More levels of hierarchy",
        "48 people with a coach backed by the top, in one level or in four. More levels "
        "put more managers between the top and the front line; they also split the 48 "
        "into smaller teams, each with its own coach: both change at once here.",
        "Will trust within the team be higher with four levels or with one?",
        "hierarchy_4",
        "hierarchy_1",
        "within_team_trust",
        "compare",
        ("Lower with four (left)", "About the same", "Higher with four (left)"),
        ("right", "same", "left"),
    ),
)
SANDBOX = len(CHAPTERS)  # the chapter index of the sandbox
