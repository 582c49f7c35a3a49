"""Where each scenario of a pair wins: scenario discovery over a comparison across worlds.

After `compare --across`, each pair's expected difference is known at every plausible
world. `--map` asks, for each pair (A, B) and outcome, "in which worlds is B higher
than A by more than the smallest effect of interest?" (B is the reference when the
experiment has one: e.g. "where does the top-down sponsored coach beat peer-led
coaching in skill?") and answers with a PRIM box and a CART tree
(`sim.methods.discovery`): a generated sentence each, map.csv (the boxes' limits and
the trees' leaves) and two figures per question (figures/map_*). docs/ODD.md,
"Scenario discovery".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.experiments.across import Across
from sim.methods.discovery import (
    ClaimWords,
    DiscoveryError,
    discover,
    discovery_sentence,
    sentence_start,
)

__all__ = ["WorldMap", "map_worlds"]


@dataclass
class WorldMap:
    """The map's sentences (Markdown section), its table and the files written."""

    section: str
    table: pd.DataFrame
    written: list[Path] = field(default_factory=list)


def _claim(a: str, b: str, outcome: str, sesoi: float) -> ClaimWords:
    return ClaimWords(
        f"{b} is higher than {a} in {outcome} by more than {sesoi:g}",
        short=f"{b} is higher",
        worlds="plausible worlds",
    )


def map_worlds(found: Across) -> WorldMap:
    """A PRIM box and a CART tree for each pair and outcome of a comparison across worlds.

    Writes map.csv (per question: the box's limits, coverage and density, then each
    CART leaf) and figures/map_A_B_OUTCOME_box.png and _tradeoff.png.
    """
    import matplotlib.pyplot as plt

    from sim.reporting import plots

    folder, table, params = found.folder, found.table, list(found.source.parameters)
    lines = [
        "## Where each claim holds (scenario discovery)",
        "",
        "For each pair A vs B and outcome: in which of the plausible worlds is B higher than "
        "A by more than the smallest effect of interest? A PRIM box (Friedman and Fisher "
        "1999, EMA Workbench) keeps at least 70% of the worlds where it is, as dense as it "
        "can; limits no better than chance (quasi-p >= 0.05) are released. A CART tree "
        "(depth 3) is the second view: its leaves are in map.csv.",
        "",
    ]
    rows: list[dict[str, object]] = []
    written: list[Path] = []
    (folder / "figures").mkdir(exist_ok=True)
    for s in found.summary.itertuples():
        a, b, outcome = str(s.a), str(s.b), str(s.outcome)
        sesoi = float(s.smallest_effect)  # type: ignore[arg-type]
        at = table[(table["a"] == a) & (table["b"] == b) & (table["outcome"] == outcome)]
        at = at.dropna(subset=["mean_diff"])
        words = _claim(a, b, outcome, sesoi)
        holds = at["mean_diff"] < -sesoi
        try:
            d = discover(at[params].reset_index(drop=True), holds.reset_index(drop=True))
        except DiscoveryError as err:
            claim, n = sentence_start(words.claim), len(holds)
            if (n and holds.all()) or (n and not holds.any()):
                where = "every one" if holds.all() else "none"
                lines.append(f"- {claim} in {where} of the {n} plausible worlds: no region "
                             "to map.")  # fmt: skip
            else:
                lines.append(f"- {claim}: not mapped ({err}).")
            continue
        sentence = discovery_sentence(d, words)
        lines.append(f"- {sentence}")
        base = {"a": a, "b": b, "outcome": outcome, "smallest_effect": sesoi}
        box = d.box
        for parameter, lim in box.limits.iterrows():
            rows.append({**base, "kind": "box", "parameter": parameter,
                         "lower": lim["written_lower"], "upper": lim["written_upper"],
                         "coverage": box.coverage, "density": box.density,
                         "share": box.mass, "worlds": box.worlds})  # fmt: skip
        for rule in d.rules:
            rows.append({**base, "kind": "leaf", "rule": rule.text, "share": rule.share,
                         "density": rule.density, "worlds": rule.worlds})  # fmt: skip
        stem = f"map_{a}_{b}_{outcome}"
        for kind, fig in (
            ("box", plots.discovery_box(d, claim=f"The claim: {words.claim}")),
            ("tradeoff", plots.discovery_tradeoff(d, claim=f"The claim: {words.claim}")),
        ):
            path = folder / "figures" / f"{stem}_{kind}.png"
            fig.savefig(path, dpi=150, bbox_inches="tight")
            plt.close(fig)
            written.append(path)
    out = pd.DataFrame(rows)
    out.to_csv(folder / "map.csv", index=False)
    written.insert(0, folder / "map.csv")
    return WorldMap("\n".join(lines) + "\n", out, written)
