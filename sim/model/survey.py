"""Simulated surveys: questionnaire answers from the model's latent trust.

Field studies measure psychological safety and trust with Likert items; the model
holds latent numbers in [0, 1]. A survey turns each respondent's latent value into
item answers by a stated measurement model, an ordered probit (Samejima's graded
response model in its probit form, with one loading for every item):

    z_i   = Phi^-1(latent_i), the latent clipped to [0.01, 0.99]
    y*_ik = s_k * lambda * z_i + sqrt(1 - lambda^2) * e_ik,   e_ik ~ N(0, 1)
    answer_ik = 1 + #{c : y*_ik > tau_c - bias},   tau_c = Phi^-1(c / points)

s_k = -1 for a reverse-keyed item: the answer is recorded as a respondent gives it
(agreeing with "it is often held against you" is a low score), and scoring reverses
it (points + 1 - answer) before any statistic. With z standard normal, y* is too, so
the thresholds at the normal's quantiles spread answers evenly over the points;
`bias` shifts every answer (social desirability, acquiescence).

lambda (the scenario's `survey_loading`) is a loading on the probit scale: it is the
item's correlation with z only for respondents whose z spans that scale (sd 1). The
model's people differ far less (a latent sd of 0.1 is a z sd of about 0.25), so the
loading the items actually have among them, `realized_loading` (the mean over items
of an item's correlation with the respondent's latent), is much lower: about
lambda s / sqrt(lambda^2 s^2 + 1 - lambda^2) for a z sd of s, a little less after the
answers are cut into points. The statistics (Cronbach's alpha, rwg(j), ICC(1),
ICC(2)) are the ones field researchers report; the realized loading is what a
factor analysis of the simulated answers against the true latent would find.
See docs/ODD.md, "Observation: simulated surveys".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "INSTRUMENTS",
    "Instrument",
    "answers",
    "cronbach_alpha",
    "icc",
    "realized_loading",
    "rwg_j",
    "scored",
    "statistics",
]


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: its items (text, reverse-keyed or not), answer points and latent."""

    name: str
    items: tuple[tuple[str, bool], ...]  # (wording, reverse-keyed)
    latent: str  # what the model gives each respondent (docs/ODD.md)
    source: str
    points: int = 7

    @property
    def reverse(self) -> NDArray[np.bool_]:
        """Which items are reverse-keyed."""
        return np.array([rev for _, rev in self.items])


# Edmondson (1999), "Psychological safety and learning behavior in work teams",
# Administrative Science Quarterly 44(2): 350-383; seven items, 7-point agreement.
PSYCHOLOGICAL_SAFETY = Instrument(
    name="psychological_safety",
    items=(
        ("If you make a mistake on this team, it is often held against you.", True),
        ("Members of this team are able to bring up problems and tough issues.", False),
        ("People on this team sometimes reject others for being different.", True),
        ("It is safe to take a risk on this team.", False),
        ("It is difficult to ask other members of this team for help.", True),
        (
            "No one on this team would deliberately act in a way that undermines my efforts.",
            False,
        ),
        (
            "Working with members of this team, my unique skills and talents are valued "
            "and utilized.",
            False,
        ),
    ),
    latent="the respondent's mean trust in the other members of their team",
    source="Edmondson (1999), team psychological safety, 7 items",
)


def _trust_items(whom: str) -> tuple[tuple[str, bool], ...]:
    """Mayer and Davis's (1999) four trust items, about `whom` instead of top management."""
    return (
        (f"If I had my way, I wouldn't let {whom} have any influence over issues that are "
         "important to me.", True),
        (f"I would be willing to let {whom} have complete control over my future in this "
         "company.", False),
        (f"I really wish I had a good way to keep an eye on {whom}.", True),
        (f"I would be comfortable giving {whom} a task or problem which was critical to me, "
         "even if I could not monitor their actions.", False),
    )  # fmt: skip


TRUST_IN_COACH = Instrument(
    name="trust_in_coach",
    items=_trust_items("our team's coach"),
    latent="the respondent's trust in their team's coach (teams with a coach; not the coach)",
    source="Mayer & Davis (1999), trust in top management, 4 items, adapted to the coach",
    points=5,
)
TRUST_IN_MANAGER = Instrument(
    name="trust_in_manager",
    items=_trust_items("my manager"),
    latent="the respondent's trust in their own manager",
    source="Mayer & Davis (1999), trust in top management, 4 items, adapted to one's manager",
    points=5,
)
INSTRUMENTS = {i.name: i for i in (PSYCHOLOGICAL_SAFETY, TRUST_IN_COACH, TRUST_IN_MANAGER)}

ANSWER_COLUMNS = ("week", "instrument", "team", "respondent", "item", "answer", "latent")


def answers(
    instrument: Instrument,
    latent: NDArray[np.float64],
    loading: float,
    bias: float,
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Each respondent's raw answer to each item (respondents x items, 1..points).

    Args:
        instrument: the questionnaire.
        latent: each respondent's latent value in [0, 1].
        loading: lambda, every item's loading on the probit scale of the latent
            (0 < lambda < 1; module docstring: among respondents who differ little,
            the items' realized loading is lower).
        bias: added to every y* (positive: every answer higher).
        rng: the survey's own stream (a survey never changes the run it observes).
    """
    # The normal quantile (scipy.stats.norm.ppf's own function), imported here: scipy
    # takes 0.4 s to import, which every run without a survey would pay.
    from scipy.special import ndtri

    z = ndtri(np.clip(latent, 0.01, 0.99))
    sign = np.where(instrument.reverse, -1.0, 1.0)
    noise = rng.standard_normal((len(latent), len(instrument.items)))
    y = loading * z[:, None] * sign[None, :] + np.sqrt(1.0 - loading**2) * noise + bias
    tau = ndtri(np.arange(1, instrument.points) / instrument.points)
    return 1 + (y[:, :, None] > tau[None, None, :]).sum(axis=2)


def scored(raw: NDArray[np.int64], instrument: Instrument) -> NDArray[np.int64]:
    """Answers with the reverse-keyed items reversed (points + 1 - answer)."""
    return np.where(instrument.reverse[None, :], instrument.points + 1 - raw, raw)


def cronbach_alpha(items: NDArray[np.float64]) -> float:
    """Cronbach's (1951) alpha of a respondents x items matrix of scored answers.

    alpha = k / (k - 1) * (1 - sum of the items' variances / variance of the sum),
    variances with ddof = 1. NaN with fewer than two respondents or items, or when the
    sums do not vary.
    """
    n, k = items.shape
    if n < 2 or k < 2:
        return float("nan")
    total = items.sum(axis=1).var(ddof=1)
    if total == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / total))


def realized_loading(items: NDArray[np.float64], latent: NDArray[np.float64]) -> float:
    """The loading the items actually have: their mean correlation with the latent.

    The mean over items of Pearson's r between the scored item and the respondents'
    latent values. It is the standardized loading a factor analysis would report if it knew the true
    latent. NaN with fewer than three respondents, or when the latent does not vary;
    an item every respondent answers alike is left out (its r is undefined).
    """
    x = np.asarray(latent, dtype=float)
    if len(x) < 3 or np.isnan(x).any() or np.ptp(x) == 0:
        return float("nan")
    centred = items - items.mean(axis=0)
    spread = np.sqrt((centred**2).sum(axis=0))
    dx = x - x.mean()
    varies = spread > 0
    if not varies.any():
        return float("nan")
    r = (centred[:, varies] * dx[:, None]).sum(axis=0) / (spread[varies] * np.sqrt((dx**2).sum()))
    return float(r.mean())


def rwg_j(items: NDArray[np.float64], points: int) -> float:
    """James, Demaree and Wolf's (1984) within-group agreement over J items.

    rwg(j) = J (1 - s2 / e2) / (J (1 - s2 / e2) + s2 / e2), with s2 the mean of the
    items' variances within the group (ddof = 1) and e2 = (A^2 - 1) / 12 the variance of
    a uniform answer on A points (no agreement at all). 1 is full agreement; values are
    truncated to [0, 1], as is usual when s2 > e2. NaN for fewer than two respondents.
    """
    n, j = items.shape
    if n < 2:
        return float("nan")
    ratio = items.var(axis=0, ddof=1).mean() / ((points**2 - 1) / 12)
    if ratio >= 1:
        return 0.0
    return float(j * (1 - ratio) / (j * (1 - ratio) + ratio))


def icc(scores: NDArray[np.float64], groups: NDArray[np.int64]) -> tuple[float, float]:
    """ICC(1) and ICC(2) of individual scores nested in groups (Bliese 2000).

    From a one-way ANOVA: ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW), the share of a
    score's variance that lies between groups; ICC(2) = (MSB - MSW) / MSB, the
    reliability of the group means. k is the mean group size (groups of one are left
    out). NaN with fewer than two groups.
    """
    groups = np.asarray(groups)
    _, inv, counts = np.unique(groups, return_inverse=True, return_counts=True)
    keep = counts[inv] > 1
    _, inv, sizes = np.unique(groups[keep], return_inverse=True, return_counts=True)
    x = np.asarray(scores, dtype=float)[keep]
    g, n = len(sizes), len(x)
    if g < 2 or n <= g:
        return float("nan"), float("nan")
    means = np.bincount(inv, weights=x, minlength=g) / sizes
    msb = float((sizes * (means - x.mean()) ** 2).sum() / (g - 1))
    msw = float(((x - means[inv]) ** 2).sum() / (n - g))
    k = n / g
    icc1 = (msb - msw) / (msb + (k - 1) * msw) if msb + (k - 1) * msw > 0 else float("nan")
    icc2 = (msb - msw) / msb if msb > 0 else float("nan")
    return float(icc1), float(icc2)


STATISTIC_COLUMNS = (
    "week",
    "instrument",
    "respondents",
    "teams",
    "scale_mean",
    "scale_sd",
    "alpha",
    "realized_loading",
    "rwg_j",
    "icc1",
    "icc2",
)


def _wave_statistics(
    raw: NDArray[np.int64],
    teams: NDArray[np.int64],
    latent: NDArray[np.float64],
    instrument: Instrument,
) -> dict[str, float | int]:
    """One wave's statistics from its respondents x items answers, teams and latents."""
    items = scored(raw, instrument).astype(float)
    scale = items.mean(axis=1)
    names, sizes = np.unique(teams, return_counts=True)
    agreement = [rwg_j(items[teams == t], instrument.points) for t in names[sizes > 1]]
    icc1, icc2 = icc(scale, teams)
    return {
        "respondents": len(scale),
        "teams": len(names),
        "scale_mean": float(scale.mean()),
        "scale_sd": float(scale.std(ddof=1)) if len(scale) > 1 else float("nan"),
        "alpha": cronbach_alpha(items),
        "realized_loading": realized_loading(items, latent),
        "rwg_j": float(np.mean(agreement)) if agreement else float("nan"),
        "icc1": icc1,
        "icc2": icc2,
    }


def statistics(table: pd.DataFrame) -> pd.DataFrame:
    """The statistics of each wave and instrument of a long answers table.

    With a run_id column, of each run's waves (run_id is then the last column; runs in
    the order they first appear). Scale scores are the mean of a respondent's scored
    items. rwg_j is the mean over teams with two or more respondents. realized_loading
    needs the table's latent column (NaN without it). Works on numpy arrays, not
    pandas groups: a calibration computes it for every candidate.
    """
    runs = "run_id" in table.columns
    columns = [*STATISTIC_COLUMNS, *(["run_id"] if runs else [])]
    if table.empty:
        return pd.DataFrame(columns=columns)
    if runs:
        run_names, first, run = np.unique(
            table["run_id"].to_numpy(), return_index=True, return_inverse=True
        )
        order = np.argsort(first)  # runs in the order they first appear
        run = np.argsort(order)[run]
        run_names = run_names[order]
    else:
        run_names, run = np.array([None]), np.zeros(len(table), dtype=np.int64)
    week = table["week"].to_numpy(dtype=np.int64)
    names, instrument = np.unique(table["instrument"].to_numpy(dtype=str), return_inverse=True)
    team = table["team"].to_numpy(dtype=np.int64)
    respondent = table["respondent"].to_numpy(dtype=np.int64)
    item = table["item"].to_numpy(dtype=np.int64)
    answer = table["answer"].to_numpy(dtype=np.int64)
    latent = (
        table["latent"].to_numpy(dtype=float)
        if "latent" in table.columns
        else np.full(len(table), np.nan)
    )
    # One code per (run, week, instrument) wave, in the order run, week, instrument name.
    wave = (run * (week.max() + 1) + week) * len(names) + instrument
    rows = []
    for code in np.unique(wave):
        at = np.flatnonzero(wave == code)
        # Respondents sorted by (team, respondent), as a pivot table would sort them.
        who = team[at] * (respondent[at].max() + 1) + respondent[at]
        keys, first, row = np.unique(who, return_index=True, return_inverse=True)
        _, col = np.unique(item[at], return_inverse=True)
        raw = np.zeros((len(keys), int(col.max()) + 1), dtype=np.int64)
        raw[row, col] = answer[at]
        i = at[0]
        name = str(names[instrument[i]])
        stats = _wave_statistics(raw, team[at][first], latent[at][first], INSTRUMENTS[name])
        rows.append(
            {
                "week": int(week[i]),
                "instrument": name,
                **stats,
                **({"run_id": run_names[run[i]]} if runs else {}),
            }
        )
    return pd.DataFrame(rows, columns=columns)
