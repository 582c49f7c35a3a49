"""Structural sensitivity: which conclusions of a comparison survive every alternative rule.

A comparison's answer is given under the model's rules: the asymmetric trust rule,
helpers chosen at random by weight, voice on trust in the one asked, help that works
with the geometric mean of both trusts. Each rule has an alternative with its source
in docs/ODD.md (the Beta trust rule, 7.13; the heaviest candidate, 7.8; voice on mean
trust in all contacts, 7.9; the weakest link, 7.12). Rerun under each, a conclusion
("A is higher than B in mean skill") survives when every rule gives it the same
clear direction. Tables in, tables out: the paired differences of each variant
(`sim.methods.analysis.compare`'s rows) are the input.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["ALPHA", "BASELINE", "survival", "survival_sentences", "verdict"]

ALPHA = 0.05  # a difference is clear when its Holm-adjusted p is below this
BASELINE = "defaults"  # the variant with every rule at its default
KEYS = ["a", "b", "outcome"]


def verdict(mean_diff: float, p_holm: float, alpha: float = ALPHA) -> str:
    """A's difference from B: higher, lower, or unclear (Holm-adjusted p at or above alpha)."""
    if not p_holm < alpha:  # NaN (no pairs) is unclear too
        return "unclear"
    return "higher" if mean_diff > 0 else "lower" if mean_diff < 0 else "unclear"


def survival(pairs: Mapping[str, pd.DataFrame], alpha: float = ALPHA) -> pd.DataFrame:
    """One row per pair and outcome: each variant's difference, verdict, and whether it holds.

    Args:
        pairs: variant name -> its paired-difference rows (a, b, outcome, mean_diff,
            ci_low, ci_high, p_holm; one parameter point), `BASELINE` among them.
        alpha: the level at which a Holm-adjusted difference counts as clear.

    Returns:
        Columns a, b, outcome, then per variant v: v_diff, v_low, v_high, v_verdict;
        then `survives` (the defaults' verdict is clear and every variant gives it)
        and `breaks_under` (the variants whose verdict differs, with theirs).

    Raises:
        ValueError: no `BASELINE` variant, or variants that compare other pairs.
    """
    if BASELINE not in pairs:
        raise ValueError(f"the variants need {BASELINE!r}, the rules at their defaults")
    base_keys = pairs[BASELINE][KEYS].apply(tuple, axis=1).tolist()
    table = pairs[BASELINE][KEYS].reset_index(drop=True)
    for name, rows in pairs.items():
        if rows[KEYS].apply(tuple, axis=1).tolist() != base_keys:
            raise ValueError(f"variant {name!r} compares other pairs than {BASELINE!r}")
        rows = rows.reset_index(drop=True)
        table[f"{name}_diff"] = rows["mean_diff"]
        table[f"{name}_low"] = rows["ci_low"]
        table[f"{name}_high"] = rows["ci_high"]
        table[f"{name}_verdict"] = [
            verdict(d, p, alpha) for d, p in zip(rows["mean_diff"], rows["p_holm"], strict=True)
        ]
    said_base = table[f"{BASELINE}_verdict"].tolist()
    others = [n for n in pairs if n != BASELINE]
    said = {n: table[f"{n}_verdict"].tolist() for n in others}
    table["breaks_under"] = [
        ", ".join(f"{n} ({said[n][i]})" for n in others if said[n][i] != said_base[i])
        for i in range(len(table))
    ]
    base = table[f"{BASELINE}_verdict"]
    table["survives"] = (base != "unclear") & (table["breaks_under"] == "")
    return table


def survival_sentences(table: pd.DataFrame, words: Mapping[str, str] | None = None) -> list[str]:
    """What the table says, in words: how many clear conclusions survive every rule.

    `words` names the variants (e.g. "beta" -> "the Beta trust rule").
    """
    words = words or {}
    variants = [c.removesuffix("_verdict") for c in table.columns if c.endswith("_verdict")]
    others = [v for v in variants if v != BASELINE]
    compared = table[table[f"{BASELINE}_diff"].notna()]
    clear = compared[compared[f"{BASELINE}_verdict"] != "unclear"]
    kept = int(clear["survives"].sum())
    rules = ", ".join(words.get(v, v) for v in others)
    without = len(table) - len(compared)
    aside = f" ({without} more have no value in a scenario of the pair)" if without else ""
    lines = [
        f"At the defaults, {len(clear)} of {len(compared)} comparisons{aside} show a clear "
        f"difference (Holm-adjusted p < {ALPHA}); {kept} of those {len(clear)} keep their "
        f"direction under every alternative rule ({rules})."
    ]
    for _, row in clear[~clear["survives"]].iterrows():
        base = row[f"{BASELINE}_verdict"]
        lines.append(
            f"{row['a']} - {row['b']} in {row['outcome']}: {base} at the defaults "
            f"({row[f'{BASELINE}_diff']:+.3f}), but not under "
            + "; ".join(
                f"{words.get(v, v)} ({row[f'{v}_verdict']}, {row[f'{v}_diff']:+.3f})"
                for v in others
                if row[f"{v}_verdict"] != base
            )
            + "."
        )
    return lines
