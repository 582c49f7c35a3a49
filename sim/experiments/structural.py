"""`trustsim structural`: an experiment's comparison rerun under every alternative rule.

The scenarios run as the file gives them (the rules at their values there: "defaults"),
then once per alternative of each structural rule (docs/ODD.md 7.8, 7.9, 7.12, 7.13),
every scenario with that one rule switched, with the same seeds and replications. Each
variant is an ordinary sweep in its own folder (RESULTS/variants/NAME, resumable);
`sim.methods.structural` says which conclusions survive every rule, into
structural.csv and structural.md beside them.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.spec import Experiment
from sim.methods.structural import BASELINE, survival, survival_sentences
from sim.model.scenario import Scenario, ScenarioError

__all__ = ["RULES", "WORDS", "StructuralResult", "structural", "variants"]

# The structural rules a scenario picks by name; their values are the Scenario's own.
RULES = ("trust_rule", "choice_rule", "voice_rule", "success_rule")
# Each variant in words, as the report names it.
WORDS = {
    BASELINE: "the rules as the scenarios give them",
    "trust_rule=beta": "the Beta trust rule",
    "trust_rule=asymmetric": "the asymmetric trust rule",
    "choice_rule=best": "asking the most valued candidate",
    "choice_rule=weighted": "choosing at random by weight",
    "voice_rule=general": "voice on trust in all contacts",
    "voice_rule=dyadic": "voice on trust in the one asked",
    "success_rule=weakest": "help as good as the lower trust",
    "success_rule=geometric": "help on the geometric mean of both trusts",
}


@dataclass
class StructuralResult:
    """What `structural` did: the survival table, its sentences, and the files written."""

    folder: Path
    table: pd.DataFrame
    lines: list[str]
    written: list[Path] = field(default_factory=list)
    failed: int = 0  # runs that failed, over every variant


def variants(exp: Experiment) -> list[tuple[str, dict[str, Any]]]:
    """The defaults, then each other value of each rule the scenarios share.

    Raises:
        ScenarioError: an experiment of another model, or with a sweep, sensitivity or
            calibration design (a structural rerun compares scenarios at one point).
    """
    where = exp.path or exp.name
    if exp.model != "trust":
        raise ScenarioError(
            [f"{where}: structural rules are the trust model's; this is {exp.model}"]
        )
    for section in ("sweep", "sensitivity", "calibration"):
        if getattr(exp, section) is not None:
            raise ScenarioError(
                [
                    f"{where}: has a [{section}] section; `trustsim structural` reruns a "
                    "comparison of scenarios at one point under each rule: drop it"
                ]
            )
    out: list[tuple[str, dict[str, Any]]] = [(BASELINE, {})]
    for rule in RULES:
        used = {getattr(s, rule) for s in exp.scenarios}
        if len(used) != 1:  # the scenarios differ in this rule: it is part of the question
            continue
        allowed = typing.get_args(Scenario.model_fields[rule].annotation)
        out += [(f"{rule}={v}", {rule: v}) for v in allowed if v not in used]
    return out


def structural(
    exp: Experiment,
    sweep: typing.Callable[..., Any],
    *,
    out: str | Path | None = None,
    **running: Any,
) -> StructuralResult:
    """Run every variant with `sweep` (the pipeline's), then write the survival table.

    Args:
        exp: a loaded experiment comparing scenarios (no sweep or design).
        sweep: `sim.experiments.pipeline.sweep`, which runs a variant into its folder.
        out: the results folder (default results/<experiment>-structural).
        running: workers, scheduler, replications, steps, progress, echo: as `sweep`.
    """
    from sim.experiments.runner import results_folder

    plan = variants(exp)
    folder = (
        Path(out)
        if out is not None
        else results_folder(exp, None).with_name(f"{exp.name}-structural")
    )
    pairs: dict[str, pd.DataFrame] = {}
    failed = 0
    for name, change in plan:
        scenarios = tuple(s.with_(**change) for s in exp.scenarios)
        variant = exp.model_copy(update={"scenarios": scenarios, "name": f"{exp.name}-{name}"})
        where = folder / "variants" / name.replace("=", "-")
        result = sweep(
            variant, out=where, resume=(where / "results.sqlite").exists(), report=False, **running
        )
        failed += result.runs.failed
        rows = result.comparison.pairs
        pairs[name] = rows[rows["point"] == 0]
    table = survival(pairs)
    lines = survival_sentences(table, WORDS)
    folder.mkdir(parents=True, exist_ok=True)
    csv, md = folder / "structural.csv", folder / "structural.md"
    table.to_csv(csv, index=False)
    md.write_text(_markdown(exp, table, lines, [n for n, _ in plan]), encoding="utf-8")
    return StructuralResult(folder, table, lines, [csv, md], failed)


def _markdown(exp: Experiment, table: pd.DataFrame, lines: list[str], names: list[str]) -> str:
    """structural.md: the sentences, then one table per outcome (difference and verdict)."""
    head = ["pair", *(WORDS.get(n, n) for n in names), "survives"]
    parts = [f"# {exp.name}: conclusions under every structural rule", "", *lines, ""]
    mark = {"higher": "+", "lower": "-", "unclear": "?"}
    for outcome, rows in table.groupby("outcome", sort=False):
        parts += [f"## {outcome}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for _, r in rows.iterrows():
            if pd.isna(r[f"{BASELINE}_diff"]):
                cells = ["no value"] * len(names)
                parts.append(f"| {r['a']} - {r['b']} | " + " | ".join(cells) + " | - |")
                continue
            cells = [
                f"{r[f'{n}_diff']:+.3f} [{r[f'{n}_low']:+.3f}, {r[f'{n}_high']:+.3f}] "
                f"{mark[r[f'{n}_verdict']]}"
                for n in names
            ]
            ok = "yes" if r["survives"] else "no"
            parts.append(f"| {r['a']} - {r['b']} | " + " | ".join(cells) + f" | {ok} |")
        parts.append("")
    parts.append(
        "Each cell: the mean paired difference (left minus right) [95% CI]; + higher, "
        "- lower, ? no clear difference (Holm-adjusted p >= 0.05). A conclusion survives "
        "when it is clear at the defaults and every rule gives the same direction. "
        "The rules: docs/ODD.md 7.13 (trust), 7.8 (choice of helper), 7.9 (voice), "
        "7.12 (success of help)."
    )
    return "\n".join(parts) + "\n"
