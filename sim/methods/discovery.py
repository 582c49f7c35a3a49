"""Scenario discovery: in which region of the sampled worlds does a claim hold?

Tables in, tables out: a table of worlds (a row per sampled parameter set, numeric
columns) and whether a claim holds in each (say "the top-down coach beats peer-led
coaching in skill by more than the smallest effect of interest") give a box of
parameter limits where the claim holds far more often than overall, found by PRIM
(Friedman & Fisher 1999) as the EMA Workbench implements it
(`ema_workbench.analysis.prim.Prim`, Kwakkel 2017), with its peeling and pasting
trajectory; the leaves of a CART tree (Breiman et al. 1984; scikit-learn) as rules,
a second view; and the sentence that says it.

The box reported (docs/ODD.md, "Scenario discovery"): of the trajectory's boxes that
keep at least `min_coverage` of the worlds where the claim holds, the densest; then,
by Breiman et al.'s one-standard-error rule, the one with the largest coverage whose
density is within one binomial standard error of that; then every limit whose
quasi-p value (Bryant & Lempert 2010) is `significance` or more is released, until
all left are significant: noise in the claim lets PRIM peel parameters that do not
matter, and this takes those peels back.

EMA's analysis is imported when `discover` runs (4 to 9 s: it imports the workbench).
A search took 2.5 s on 1,000 worlds of 4 parameters, 6 s on 2,000 of 8 or 12, and 37 s
on 5,000 of 12, mostly EMA's pasting (pandas indexing for each candidate paste). Over
600 lines because the box's choice, the release of limits, the tree's rules and the
sentence's exact limits read one set of tables and are checked together.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd

__all__ = [
    "MIN_WORLDS",
    "Box",
    "ClaimWords",
    "Discovery",
    "DiscoveryError",
    "Rule",
    "box_text",
    "discover",
    "discovery_sentence",
    "in_box",
    "percent",
    "sentence_start",
]

MIN_WORLDS = 10  # fewer worlds cannot be peeled in steps of 5% (PRIM's peel_alpha)
TREE_SEED = 0  # sklearn breaks ties between equally good splits at random: fixed here


class DiscoveryError(ValueError):
    """The worlds or the claim cannot be searched: the message names what and why."""


@dataclass(frozen=True, eq=False)
class Box:
    """A box of parameter limits and how the claim fares inside it.

    Attributes:
        limits: One row per restricted parameter (index `parameter`): `lower`, `upper`
            (the box; a world is inside when lower <= value <= upper), `range_min`,
            `range_max` (the parameter's range over all worlds; a side equal to its
            end is not restricted), `written_lower`, `written_upper` (the limits as
            the sentence writes them: the fewest digits that select the same worlds),
            `qp_lower`, `qp_upper` (quasi-p values of the restricted sides; NaN for a
            side not restricted).
        coverage: Of the worlds where the claim holds, the share inside the box.
        density: Of the worlds inside the box, the share where the claim holds.
        mass: The share of all worlds inside the box.
        worlds: How many worlds are inside.
        holds: How many of those hold the claim.
        step: The box's row in the trajectory.
    """

    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    worlds: int
    holds: int
    step: int

    @property
    def restricted(self) -> tuple[str, ...]:
        """The parameters the box restricts, in the worlds table's order."""
        return tuple(self.limits.index)


@dataclass(frozen=True)
class Rule:
    """A leaf of the CART tree, as a rule.

    Attributes:
        conditions: Parameter -> (above, at_most): a world follows the rule when
            above < value <= at_most for every parameter named (-inf, inf: no bound).
        text: The rule in words, e.g. "0.2 < x1 <= 0.6 and x2 > 0.5".
        worlds: How many worlds follow it.
        holds: How many of those hold the claim.
        share: Their share of all worlds.
        density: The share of them where the claim holds.
    """

    conditions: dict[str, tuple[float, float]]
    text: str
    worlds: int
    holds: int
    share: float
    density: float


@dataclass(frozen=True, eq=False)
class Discovery:
    """What scenario discovery found.

    Attributes:
        worlds: How many worlds were searched.
        holds: In how many the claim holds.
        box: The reported PRIM box (see the module's docstring for the rule).
        selected: The trajectory step the rule chose, before limits were released.
        trajectory: One row per PRIM step: `step`, `phase` ("start", "peel", "paste",
            "release"), `coverage`, `density`, `mass`, `restricted` (how many
            parameters the box restricts), `worlds`, `holds`.
        rules: The CART tree's leaves, densest first.
        min_coverage: The coverage a reported box keeps at least.
        constant: Parameters with one value in every world, left out.
    """

    worlds: int
    holds: int
    box: Box
    selected: int
    trajectory: pd.DataFrame
    rules: tuple[Rule, ...]
    min_coverage: float
    constant: tuple[str, ...] = ()

    @property
    def share(self) -> float:
        """The share of all worlds where the claim holds."""
        return self.holds / self.worlds

    @property
    def tree_rules(self) -> pd.DataFrame:
        """The CART leaves as a table: rule, worlds, holds, share, density."""
        rows = [(r.text, r.worlds, r.holds, r.share, r.density) for r in self.rules]
        return pd.DataFrame(rows, columns=["rule", "worlds", "holds", "share", "density"])


@dataclass(frozen=True)
class ClaimWords:
    """The words of the question, for the sentence.

    Attributes:
        claim: The claim as a clause, e.g. "the top-down coach beats peer-led coaching
            in skill".
        short: The claim again, short, as a clause: "it wins" reads in "it wins in
            91% of them" and "of the worlds where it wins".
        worlds: What the worlds are, e.g. "plausible worlds".
    """

    claim: str
    short: str = "the claim holds"
    worlds: str = "worlds"


# ----------------------------------------------------------------- checking the input
def _checked(
    worlds: pd.DataFrame, holds: pd.Series | np.ndarray | Sequence[bool]
) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...]]:
    """The worlds as float64 columns that vary, the claim as bools, the constant columns."""
    _require(
        isinstance(worlds, pd.DataFrame),
        f"worlds: a {type(worlds).__name__}; give a pandas DataFrame",
    )
    n = len(worlds)
    _require(n >= MIN_WORLDS, f"worlds: {n} rows; scenario discovery needs {MIN_WORLDS} or more")
    twice = list(worlds.columns[worlds.columns.duplicated()])
    _require(not twice, f"worlds: column {twice[:1]} appears twice; name each parameter once")
    columns = {}
    for name, column in worlds.items():
        kind = column.dtype
        numeric = pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)
        _require(
            numeric, f"worlds: column {name!r} is of type {kind}; allowed: numbers, true/false"
        )
        values = column.to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        _require(
            not bad.any(),
            f"worlds: column {name!r} has {int(bad.sum())} missing or infinite values (the "
            f"first at row {worlds.index[int(np.argmax(bad))]!r}); every world needs a number",
        )
        columns[str(name)] = values
    table = pd.DataFrame(columns, index=worlds.index)
    constant = tuple(c for c in columns if table[c].min() == table[c].max())
    _require(len(constant) < table.shape[1], "worlds: no column varies; there is nothing to bound")
    return table.drop(columns=list(constant)), _claim(holds, worlds.index), constant


def _claim(holds: pd.Series | np.ndarray | Sequence[bool], index: pd.Index) -> np.ndarray:
    """The claim per world as bools, aligned with the worlds' rows."""
    if isinstance(holds, pd.Series) and not holds.index.equals(index):
        same = len(holds) == len(index) and holds.index.is_unique and index.isin(holds.index).all()
        _require(
            bool(same), "holds: its index is not the worlds'; give one value per world, so indexed"
        )
        holds = holds.reindex(index)
    values = np.asarray(holds)
    n = values.size
    _require(values.shape == (len(index),), f"holds: {n} values for {len(index)} worlds")
    if values.dtype != bool:
        as_float = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        bad = ~np.isin(as_float, (0.0, 1.0))
        first = values[int(np.argmax(bad))]
        first = first.item() if isinstance(first, np.generic) else first  # nan, not np.float64
        _require(
            not bad.any(),
            f"holds: {first!r} at row {index[int(np.argmax(bad))]!r}; allowed: true or false "
            "(1 or 0)",
        )
        values = as_float == 1.0
    k = int(values.sum())
    _require(k < n, f"holds: the claim holds in all {n} worlds; no region holds it more often")
    _require(k > 0, f"holds: the claim holds in none of the {n} worlds; no region holds it")
    return values


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise DiscoveryError(message)


def _allowed(name: str, value: object, ok: bool, allowed: str) -> None:
    _require(ok, f"{name}: {value!r}; allowed: {allowed}")


# ------------------------------------------------------------------------ boxes
def _inside(x: pd.DataFrame, lower: pd.Series, upper: pd.Series) -> np.ndarray:
    """Which worlds lie in [lower, upper] on every parameter named (EMA's rule: inclusive)."""
    values = x[lower.index].to_numpy()
    return ((values >= lower.to_numpy()) & (values <= upper.to_numpy())).all(axis=1)


def in_box(worlds: pd.DataFrame, box: Box) -> pd.Series:
    """Which worlds lie inside the box (True: inside), indexed like `worlds`."""
    limits = box.limits
    values = worlds.rename(columns=str)[list(limits.index)].astype(float)
    return pd.Series(_inside(values, limits["lower"], limits["upper"]), index=worlds.index)


def _quasi_p(x: pd.DataFrame, y: np.ndarray, lower: pd.Series, upper: pd.Series) -> pd.DataFrame:
    """Each restricted side's quasi-p value (Bryant & Lempert 2010; EMA's calculate_qp).

    The one-sided binomial probability of at least the box's count of worlds where the
    claim holds, if each of its worlds held it with the density of the box with that one
    side released: small when the side selects for the claim.
    """
    from scipy.stats import binomtest

    inside = _inside(x, lower, upper)
    n, k = int(inside.sum()), int(y[inside].sum())

    def quasi_p(wider_lower: pd.Series, wider_upper: pd.Series) -> float:
        p = float(y[_inside(x, wider_lower, wider_upper)].mean())
        return float(binomtest(k, n, p, alternative="greater").pvalue)

    out = pd.DataFrame(np.nan, index=lower.index, columns=["qp_lower", "qp_upper"])
    for name in lower.index:
        others = lower.index != name
        if lower[name] > x[name].min():
            out.loc[name, "qp_lower"] = quasi_p(lower.where(others, x[name].min()), upper)
        if upper[name] < x[name].max():
            out.loc[name, "qp_upper"] = quasi_p(lower, upper.where(others, x[name].max()))
    return out


def _box(x: pd.DataFrame, y: np.ndarray, lower: pd.Series, upper: pd.Series, step: int) -> Box:
    """The Box of these limits, its statistics recomputed from the worlds."""
    full_min, full_max = x.min(), x.max()
    names = [str(c) for c in x.columns]
    restricted = [c for c in names if lower[c] > full_min[c] or upper[c] < full_max[c]]
    lower, upper = lower[restricted], upper[restricted]
    inside = _inside(x, lower, upper)
    limits = pd.DataFrame(
        {
            "lower": lower,
            "upper": upper,
            "range_min": full_min[restricted],
            "range_max": full_max[restricted],
            "written_lower": [_written(x[c].to_numpy(), lower[c], "lower") for c in restricted],
            "written_upper": [_written(x[c].to_numpy(), upper[c], "upper") for c in restricted],
        }
    ).join(_quasi_p(x, y, lower, upper))
    limits.index.name = "parameter"
    n, k = int(inside.sum()), int(y[inside].sum())
    return Box(
        limits=limits,
        coverage=k / int(y.sum()),
        density=k / n if n else math.nan,
        mass=n / len(y),
        worlds=n,
        holds=k,
        step=step,
    )


def _prim(
    x: pd.DataFrame, y: np.ndarray, mass_min: float, peel_alpha: float, paste_alpha: float
) -> tuple[pd.DataFrame, list[tuple[pd.Series, pd.Series]]]:
    """EMA's PRIM: its trajectory (our columns) and each step's limits (rows 0, 1)."""
    with warnings.catch_warnings():
        # The workbench's package warns on import that an optional parallel back-end
        # (ipyparallel) is missing; its analysis does not use it.
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        from ema_workbench.analysis.prim import Prim

    # EMA drops a column named "scenario" and skips non-float64 numbers: plain names
    # and float64 values keep every parameter in.
    names = {f"p{i}": c for i, c in enumerate(x.columns)}
    plain = pd.DataFrame(x.to_numpy(dtype=np.float64), columns=list(names))
    with warnings.catch_warnings():
        # pandas warns of its own deprecations in the workbench's code (DataFrame.drop's
        # inplace): theirs to change, nothing a user of ours can act on.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="ema_workbench")
        prim = Prim(
            plain, y.astype(int), peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min
        )
        found = prim.find_box()
    if found is None:  # only when no worlds remain, which cannot happen for the first box
        raise DiscoveryError("worlds: PRIM found no box")
    columns: dict[str, type] = dict.fromkeys(["coverage", "density", "mass"], float)
    columns |= dict.fromkeys(["res_dim", "n", "k"], int)
    trajectory = found.peeling_trajectory[list(columns)].astype(columns)
    trajectory = trajectory.rename(columns={"res_dim": "restricted", "n": "worlds", "k": "holds"})
    mass = trajectory["mass"].to_numpy()
    phase = ["start"] + ["peel" if mass[i] < mass[i - 1] else "paste" for i in range(1, len(mass))]
    trajectory.insert(0, "phase", phase)
    trajectory.insert(0, "step", np.arange(len(trajectory)))
    limits = [lims.rename(columns=names).astype(float) for lims in found.box_lims]
    return trajectory, [(lims.iloc[0], lims.iloc[1]) for lims in limits]


def _select(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """The step the rule picks: min coverage, then densest within one standard error."""
    eligible = trajectory[trajectory["coverage"] >= min_coverage - 1e-12]
    best = int(eligible["density"].to_numpy().argmax())
    d, n = float(eligible["density"].iloc[best]), int(eligible["worlds"].iloc[best])
    close = eligible[eligible["density"] >= d - math.sqrt(d * (1 - d) / n) - 1e-12]
    # The largest coverage; among equals the earliest step (fewer peels).
    return int(close.sort_values(["coverage", "step"], ascending=[False, True])["step"].iloc[0])


def _released(
    x: pd.DataFrame, y: np.ndarray, lower: pd.Series, upper: pd.Series, significance: float
) -> tuple[pd.Series, pd.Series]:
    """The limits with every side whose quasi-p value is `significance` or more released."""
    while True:
        qp = _box(x, y, lower, upper, 0).limits
        weak_lower = list(qp.index[qp["qp_lower"] >= significance])
        weak_upper = list(qp.index[qp["qp_upper"] >= significance])
        if not weak_lower and not weak_upper:
            return lower, upper
        lower, upper = lower.copy(), upper.copy()
        lower[weak_lower] = x.min()[weak_lower]
        upper[weak_upper] = x.max()[weak_upper]


# ------------------------------------------------------------------------- CART
def _tree_rules(x: pd.DataFrame, y: np.ndarray, depth: int, mass_min: float) -> tuple[Rule, ...]:
    """The leaves of a CART tree grown on the worlds, as rules (densest first)."""
    from sklearn.tree import DecisionTreeClassifier

    leaf_size = max(1, math.ceil(mass_min * len(y)))
    tree = DecisionTreeClassifier(
        max_depth=depth, min_samples_leaf=leaf_size, random_state=TREE_SEED
    ).fit(x.to_numpy(), y)
    t, leaf_of, names = tree.tree_, tree.apply(x.to_numpy()), list(x.columns)
    leaves: list[tuple[dict[str, tuple[float, float]], np.ndarray]] = []

    def walk(node: int, conditions: dict[str, tuple[float, float]]) -> None:
        if t.children_left[node] == -1:  # a leaf
            leaves.append((conditions, leaf_of == node))
            return
        name, cut = names[t.feature[node]], float(t.threshold[node])
        above, at_most = conditions.get(name, (-math.inf, math.inf))
        # sklearn sends value <= threshold left.
        walk(int(t.children_left[node]), {**conditions, name: (above, min(at_most, cut))})
        walk(int(t.children_right[node]), {**conditions, name: (max(above, cut), at_most)})

    walk(0, {})
    rules = [
        Rule(
            conditions=conditions,
            text=_rule_text(x, conditions),
            worlds=int(members.sum()),
            holds=int(y[members].sum()),
            share=int(members.sum()) / len(y),
            density=float(y[members].mean()),
        )
        for conditions, members in leaves
    ]
    return tuple(sorted(rules, key=lambda r: (-r.density, -r.worlds)))


def _rule_text(x: pd.DataFrame, conditions: dict[str, tuple[float, float]]) -> str:
    """A rule in words, e.g. "0.2 < x1 <= 0.6 and x2 > 0.5", in the tree's order."""
    parts = []
    for name, (above, at_most) in conditions.items():
        values = x[name].to_numpy()
        # value <= t and value > t split the worlds alike: one written number serves both.
        low = "" if math.isinf(above) else _number(_written(values, above, "upper"))
        high = "" if math.isinf(at_most) else _number(_written(values, at_most, "upper"))
        if not low:
            parts.append(f"{name} <= {high}")
        elif not high:
            parts.append(f"{name} > {low}")
        else:
            parts.append(f"{low} < {name} <= {high}")
    return " and ".join(parts) or "all worlds"


# ------------------------------------------------------------------------ words
def _written(values: np.ndarray, limit: float, side: str) -> float:
    """The number with the fewest significant digits that splits `values` where `limit` does.

    A lower limit keeps values >= it, an upper one values <= it; any number between the
    same two neighbouring values splits them alike, so the sentence can say 0.2 for
    0.20113 and select the same worlds (of those numbers, the closest to `limit`).
    """
    if limit == 0:
        return 0.0
    if side == "lower":  # values >= w: w in (the largest value below, the smallest kept]
        low, high = values[values < limit].max(initial=-math.inf), values[values >= limit].min()
    else:  # values <= w: w in [the largest kept, the smallest value above)
        low, high = values[values <= limit].max(), values[values > limit].min(initial=math.inf)

    def fits(w: float) -> bool:
        return (low < w <= high) if side == "lower" else (low <= w < high)

    exact = Decimal(float(limit))
    for digits in range(1, 18):
        quantum = Decimal(1).scaleb(math.floor(math.log10(abs(limit))) - digits + 1)
        near = {
            float((exact / quantum).to_integral_value(rounding) * quantum)
            for rounding in (ROUND_FLOOR, ROUND_CEILING)
        }
        fitting = [w for w in near if fits(w)]
        if fitting:
            return min(fitting, key=lambda w: abs(w - limit))
    return limit


def _number(value: float) -> str:
    """A limit as written: positional (never 1e-05), without trailing zeros."""
    return np.format_float_positional(value, trim="-")


def percent(share: float) -> str:
    """A share in whole percent that never rounds a part to none or all ("<1%", ">99%")."""
    whole = round(share * 100)
    if whole == 0 < share:
        return "<1%"
    if whole == 100 > share * 100:
        return ">99%"
    return f"{whole}%"


def box_text(box: Box, names: Mapping[str, str] | None = None) -> str:
    """The box's limits in words, e.g. "0.2 <= x1 <= 0.6 and x2 >= 0.5".

    Each number is written with the fewest significant digits that select the same
    worlds as the exact limit (`written_lower`, `written_upper` of the box's limits).
    `names` gives words for parameters.
    """
    names = names or {}
    limits = box.limits
    if limits.empty:
        return "all worlds"
    parts = []
    for name, row in limits.iterrows():
        word = names.get(str(name), str(name))
        low = row["lower"] > row["range_min"]
        high = row["upper"] < row["range_max"]
        lower, upper = _number(float(row["written_lower"])), _number(float(row["written_upper"]))
        if low and high:
            parts.append(f"{lower} <= {word} <= {upper}")
        elif low:
            parts.append(f"{word} >= {lower}")
        else:
            parts.append(f"{word} <= {upper}")
    return " and ".join(parts)


def sentence_start(text: str) -> str:
    """`text` with a capital first letter, unless it starts with a name (top_down_internal)."""
    return text if not text.split(" ", 1)[0].isalpha() else text[:1].upper() + text[1:]


def discovery_sentence(
    found: Discovery, words: ClaimWords, names: Mapping[str, str] | None = None
) -> str:
    """The reported box in one plain sentence, every number from `found`.

    For example: "The top-down coach beats peer-led coaching in skill in 62% of the
    plausible worlds; within sponsorship_strength >= 0.21 and hierarchy_attenuation >=
    0.55 (34% of the plausible worlds) it wins in 91% of them (coverage 80%: of the
    plausible worlds where it wins, 80% lie in this box)."

    Args:
        found: What `discover` found.
        words: The claim's words.
        names: Words for parameters (default: their names).
    """
    claim = sentence_start(words.claim)
    opening = f"{claim} in {percent(found.share)} of the {words.worlds}"
    box = found.box
    if box.limits.empty:
        return (
            f"{opening}, and no range of the parameters that keeps at least "
            f"{percent(found.min_coverage)} of the {words.worlds} where {words.short} "
            "raises that share beyond chance."
        )
    return (
        f"{opening}; within {box_text(box, names)} ({percent(box.mass)} of the {words.worlds}) "
        f"{words.short} in {percent(box.density)} of them (coverage {percent(box.coverage)}: "
        f"of the {words.worlds} where {words.short}, {percent(box.coverage)} lie in this box)."
    )


# ------------------------------------------------------------------------- the search
def discover(
    worlds: pd.DataFrame,
    holds: pd.Series | np.ndarray | Sequence[bool],
    *,
    min_coverage: float = 0.7,
    significance: float = 0.05,
    mass_min: float = 0.05,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    tree_depth: int = 3,
) -> Discovery:
    """Find the region of the worlds where the claim holds: a PRIM box and a CART tree.

    Args:
        worlds: One row per world, one numeric column per parameter (true/false is read
            as 1/0). A column with one value in every world is left out (see
            `Discovery.constant`).
        holds: Whether the claim holds, one value per world (true/false or 1/0); a
            Series is matched to the worlds by its index.
        min_coverage: The share of the worlds where the claim holds that the reported
            box keeps at least.
        significance: A limit whose quasi-p value is this or more is released.
        mass_min: PRIM stops peeling, and CART stops splitting, at boxes and leaves
            holding fewer than this share of the worlds.
        peel_alpha: The share of a box's worlds one peel removes.
        paste_alpha: The share of worlds one paste adds back.
        tree_depth: The CART tree's depth at most (3 allows a box bounded on three sides).

    Returns:
        The Discovery: the box, the trajectory, the tree's rules.

    Raises:
        DiscoveryError: (a ValueError) fewer than `MIN_WORLDS` worlds, a column that is
            not numeric or has a missing value, no column that varies, a claim that is
            not true/false for every world or holds in all of them or in none, or a
            setting out of its range. The message names the column, the value and what
            is allowed.
    """
    _allowed("min_coverage", min_coverage, 0 < min_coverage <= 1, "above 0 and at most 1")
    _allowed("significance", significance, 0 < significance <= 1, "above 0 and at most 1")
    _allowed("mass_min", mass_min, 0 <= mass_min < 1, "0 or more and below 1")
    _allowed("peel_alpha", peel_alpha, 0 < peel_alpha < 0.5, "above 0 and below 0.5")
    _allowed("paste_alpha", paste_alpha, 0 < paste_alpha < 0.5, "above 0 and below 0.5")
    depth_ok = isinstance(tree_depth, int) and 1 <= tree_depth <= 10
    _allowed("tree_depth", tree_depth, depth_ok, "a whole number from 1 to 10")
    x, y, constant = _checked(worlds, holds)

    trajectory, limits = _prim(x, y, mass_min, peel_alpha, paste_alpha)
    selected = _select(trajectory, min_coverage)
    lower, upper = limits[selected]
    kept_lower, kept_upper = _released(x, y, lower, upper, significance)
    released = not (kept_lower.equals(lower) and kept_upper.equals(upper))
    box = _box(x, y, kept_lower, kept_upper, len(trajectory) if released else selected)
    if released:
        release = (box.step, "release", box.coverage, box.density, box.mass, len(box.restricted))
        row = pd.DataFrame([(*release, box.worlds, box.holds)], columns=trajectory.columns)
        trajectory = pd.concat([trajectory, row], ignore_index=True)
    return Discovery(
        worlds=len(y),
        holds=int(y.sum()),
        box=box,
        selected=selected,
        trajectory=trajectory,
        rules=_tree_rules(x, y, tree_depth, mass_min),
        min_coverage=min_coverage,
        constant=constant,
    )
