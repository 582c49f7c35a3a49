"""The report of a calibration (calibration.md, calibration.html, figures/) from its tables.

`sim.experiments.abc` runs a calibration and writes tidy tables; `sim.methods.calibration`
reads them (posterior, predictive check, contrast, recovery); this module draws and
writes what those found.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.methods.analysis import to_markdown
from sim.methods.calibration import (
    Prior,
    contrast_sentences,
    contrast_summary,
    final_population,
    posterior_summary,
    recovery_table,
)
from sim.reporting import document, plots

__all__ = ["write_calibration_report"]


def write_calibration_report(folder: str | Path, formats: Sequence[str] = ("png",)) -> Path:
    """Write calibration.md, calibration.html and figures/ from a calibration's tables.

    Reads calibration.json (what was asked, and a recovery's true values),
    posterior.csv, generations.csv, predictive.csv, predictive_check.csv, and
    contrast.csv where it exists.

    Returns:
        The path of calibration.html.
    """
    folder = Path(folder)
    plan = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
    priors = {n: Prior.model_validate(p) for n, p in plan["priors"].items()}
    particles = pd.read_csv(folder / "posterior.csv")
    generations = pd.read_csv(folder / "generations.csv")
    check = pd.read_csv(folder / "predictive_check.csv")
    draws = pd.read_csv(folder / "predictive.csv")
    truth = plan.get("truth") or None
    summary = posterior_summary(particles, priors)
    last = final_population(particles)
    names = list(priors)
    entries = [
        document.FigureEntry(
            "posterior_marginals",
            "Each parameter's posterior (bars, weighted particles of the last generation) "
            "over its prior's range; the shaded band is the 95% credible interval"
            + ("; the dashed line is the true value" if truth else ""),
            lambda: plots.posterior_marginals(last, priors, truth),
        ),
        document.FigureEntry(
            "posterior_pairs",
            "Pairs of parameters in the posterior: a ridge means the targets fix a "
            "combination of the two, not each alone",
            lambda: plots.posterior_pairs(last, priors, truth),
        ),
        document.FigureEntry(
            "abc_generations",
            "ABC-SMC by generation: the distance threshold falls as the particles close "
            "in on the targets; the acceptance rate falls with it",
            lambda: plots.abc_generations(generations),
        ),
        document.FigureEntry(
            "predictive_check",
            "Posterior predictive check: each target's statistic at posterior draws "
            "(dots) against the observed value, in the target's SEs (the band is within "
            "2 SE); green: the observed value lies inside the model's 95% predictive "
            "interval (reached)",
            lambda: plots.predictive_check(draws, check),
        ),
    ]
    contrast_path = folder / "contrast.csv"
    contrast = pd.read_csv(contrast_path) if contrast_path.exists() else None
    pair = plan.get("contrast")
    if contrast is not None and pair:
        entries.append(
            document.FigureEntry(
                "posterior_contrast",
                f"{pair[0]} minus {pair[1]} at each posterior draw (paired runs): right of "
                f"zero, {pair[0]} is higher",
                lambda: plots.posterior_contrast(contrast, pair[0], pair[1]),
            )
        )
    figure_dir = folder / "figures"
    document.save_figures(entries, figure_dir, list(dict.fromkeys(("png", *formats))))

    rep = document.Report(f"{plan['experiment']}: calibration")
    rep.add("h2", "The question")
    rep.add("p", plan.get("question") or "(The experiment file has no header comment.)")
    rep.add("h2", "What was done")
    last_t = int(generations["generation"].max())
    # pyabc's prior sample for generation 0's threshold (not recorded by older folders)
    prior = plan.get("prior_sample", {}).get("candidates")
    counted = int(generations["evaluations"].sum()) + (prior or 0)
    first = (
        f" (the first {prior:,} from the prior, to set generation 0's threshold)"
        if prior is not None
        else ""
    )
    rep.add(
        "p",
        f"Approximate Bayesian computation (ABC-SMC, pyabc) of {len(names)} parameters "
        f"({', '.join(names)}) against {len(check)} targets ({plan['targets_file']}): "
        f"{plan['population']} particles a generation, {last_t + 1} generations, "
        f"{counted:,} candidates in all{first}, each "
        f"{plan['runs_per_candidate']} runs ({plan['scenarios']}). The distance is the "
        "Euclidean norm of the targets' differences, each divided by its SE; each "
        "generation keeps the candidates within the median distance of the one before. "
        f"Stopped: {plan.get('stopped', 'not recorded')}.",
    )
    rep.add("table", generations)
    rep.add("h2", "Posterior")
    rep.add(
        "p",
        "Weighted particles of the last generation. Shrinkage 0: the targets say nothing "
        "about the parameter (its posterior is its prior); near 1: they pin it down.",
    )
    rep.add("table", summary)
    if truth:
        rec = recovery_table(summary, truth)
        covered = int(rec["covered"].sum())
        rep.add("h2", "Parameter recovery")
        rep.add(
            "p",
            "The targets were made by the model itself at known values "
            f"({plan.get('recovery_note', '')}). {covered} of {len(rec)} true values lie "
            "inside their 95% credible intervals.",
        )
        rep.add("table", rec)
    rep.add("h2", "Posterior predictive check")
    rep.add(
        "p",
        f"{plan['predictive']} parameter sets drawn from the posterior, each run afresh "
        "(new seeds), every target computed from those runs as it was measured. A target "
        "outside its 95% predictive interval is one the model cannot reach with its "
        "priors: a finding about the model, not a failure of the fit.",
    )
    rep.add("table", check)
    unreached = check[check["verdict"].str.startswith("not reached")]
    rep.add(
        "p",
        "Every target is reached."
        if unreached.empty
        else "Not reached: "
        + "; ".join(
            f"{r['target']} ({str(r['verdict']).removeprefix('not reached: ')})"
            for r in unreached.to_dict("records")
        )
        + ".",
    )
    if contrast is not None and pair:
        table = contrast_summary(contrast, names)
        rep.add("h2", f"{pair[0]} against {pair[1]} inside the posterior")
        rep.add(
            "p",
            f"At each of the posterior draws, {pair[0]} and {pair[1]} ran with the draw's "
            "values and the same seeds (paired); the difference is their mean over the "
            "paired runs. Where the answer changes across the posterior, the Spearman "
            "correlations say with which parameters; they are correlations across the "
            "posterior, not effects: parameters the targets trade against each other "
            "(a ridge in the pairs figure) share them.",
        )
        rep.add("ul", contrast_sentences(table, pair[0], pair[1], names))
        rep.add("table", table)
    rep.add("h2", "Sources of the targets")
    rep.add("ul", [f"{name}: {src}" for name, src in plan["sources"].items()])
    rep.add("h2", "Figures")
    for entry in entries:
        rep.add("figure", (entry.name, entry.caption))
    rep.add("h2", "How to reproduce")
    rep.add("ul", [f"{k}: {plan[k]}" for k in ("command", "seed", "started") if k in plan])
    if plan.get("experiment_text"):
        rep.add("pre", str(plan["experiment_text"]).rstrip())
    md, html = folder / "calibration.md", folder / "calibration.html"
    md.write_text(rep.markdown(), encoding="utf-8")
    html.write_text(rep.html(figure_dir), encoding="utf-8")
    (folder / "posterior_summary.md").write_text(to_markdown(summary) + "\n", encoding="utf-8")
    return html
