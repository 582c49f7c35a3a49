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
    RATIO,
    Prior,
    asymmetry_sentence,
    asymmetry_share,
    contrast_sentences,
    contrast_summary,
    failed_sentences,
    final_population,
    measurement_sentences,
    measurement_summary,
    posterior_summary,
    recovery_table,
)
from sim.reporting import document, plots

__all__ = ["write_calibration_report"]


def _side(reach: pd.DataFrame, suffix: str) -> pd.DataFrame:
    """One side of reach.csv (the prior sample's, or the particles') as `reach` gave it."""
    columns = {f"{c}{suffix}": c for c in ("candidates", "reached", "closest")}
    return reach[["target", "observed", "se", *columns]].rename(columns=columns)


def write_calibration_report(folder: str | Path, formats: Sequence[str] = ("png",)) -> Path:
    """Write calibration.md, calibration.html and figures/ from a calibration's tables.

    Reads calibration.json (what was asked, the distance, and a recovery's true
    values), posterior.csv, generations.csv, reach.csv, predictive.csv,
    predictive_check.csv, and contrast.csv where it exists.

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
    distance = plan.get("distance", {})
    fitted = [n for n, d in distance.items() if d["fitted"]]
    fitting = check[check["role"] != "held out"] if "role" in check else check
    ratio = priors.get(RATIO)
    rep.add(
        "p",
        f"Approximate Bayesian computation (ABC-SMC, pyabc) of {len(names)} parameters "
        f"({', '.join(names)}) against {len(fitting)} targets ({plan['targets_file']}): "
        f"{plan['population']} particles a generation, {last_t + 1} generations, "
        f"{counted:,} candidates in all{first}, each "
        f"{plan['runs_per_candidate']} runs ({plan['scenarios']}). The distance is the "
        f"Euclidean norm of the differences of the {len(fitted)} fitted targets "
        f"({', '.join(fitted)}), each divided by its SE (with its discrepancy added in "
        "quadrature where the targets file gives one); generation 0 keeps the candidates "
        "within the median distance of the prior sample, each later one within the median "
        f"of the one before. Stopped: {plan.get('stopped', 'not recorded')}."
        + (
            f" trust_loss is not a parameter of its own here: every candidate has trust_loss "
            f"= trust_loss_ratio x trust_gain, the ratio {ratio.words()}, whatever the "
            "scenarios set."
            if ratio is not None
            else ""
        ),
    )
    rep.add("table", generations)
    reach_path = folder / "reach.csv"
    if reach_path.exists():
        reach = pd.read_csv(reach_path)
        prior_reach, later_reach = (_side(reach, s) for s in ("_prior", "_particles"))
        treatment = {
            n: (
                f"weighed with its discrepancy {d['discrepancy']:g} (SE {d['se']:.3g})"
                if d["discrepancy"] is not None
                else "kept out of the distance"
            )
            for n, d in distance.items()
        }
        failed = failed_sentences(prior_reach, later_reach, treatment)
        rep.add("h2", "Failed patterns")
        rep.add(
            "p",
            f"Before the first generation, {prior_reach['candidates'].max():,} candidates "
            "drawn from the prior (prior_sample.csv) showed which targets the model can "
            "reach within 2 of their SEs. A target none of them reaches is a failed pattern: "
            "a finding about the model, kept out of the distance (a constant misfit would "
            "only pull the other parameters wherever the noise favours) unless the targets "
            "file gives it a discrepancy. "
            + ("None failed." if not failed else f"{len(failed)} failed:"),
        )
        if failed:
            rep.add("ul", failed)
        rep.add("table", reach)
    rep.add("h2", "Posterior")
    rep.add(
        "p",
        "Weighted particles of the last generation. Shrinkage 0: the targets say nothing "
        "about the parameter (its posterior is its prior); near 1: they pin it down.",
    )
    rep.add("table", summary)
    rep.add("h2", "Fact 2 inside the posterior")
    rep.add("p", asymmetry_sentence(asymmetry_share(particles), ratio)[0])
    measured = measurement_summary(particles, plan.get("fixed", {}).get("survey_loading"))
    if not measured.empty:
        rep.add("h2", "What the survey's items measure")
        rep.add(
            "p",
            "survey_loading is every item's loading on the probit scale of the respondent's "
            "latent: the items' correlation with the latent only where the latent spans that "
            "scale. The model's people differ less, so the loading the items actually have "
            "(their mean correlation with the latent, over the runs of each particle) is "
            "lower, and it is what alpha follows.",
        )
        rep.add("ul", measurement_sentences(measured))
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
    held_file = plan.get("held_out_file")
    rep.add(
        "p",
        f"{plan['predictive']} parameter sets drawn from the posterior, each run afresh "
        "(new seeds), every target computed from those runs as it was measured. A target "
        "outside its 95% predictive interval is one the posterior does not reach: for a "
        "fitted target, a finding about the model (its priors hold no better values), not "
        "a failure of the fit. The fitted targets are checked again, which they can hardly "
        "fail; "
        + (
            f"the held-out targets ({held_file}) were never part of the fit, so they test it."
            if held_file
            else "no held-out targets were given ([calibration] check = FILE), so nothing "
            "here tests the fit on a pattern it did not see."
        )
        + " Where the 95% predictive interval covers half or more of what the target "
        "plausibly takes (its plausible range), the verdict says that reaching it could "
        "hardly fail.",
    )
    roles = check["role"] if "role" in check else pd.Series("fitted", index=check.index)
    for role, title in (("fitted", "Fitted targets"), ("failed", "Failed patterns (not fitted)"),
                        ("held out", "Held-out targets (not fitted)")):  # fmt: skip
        part = check[roles == role]
        if part.empty:
            continue
        rep.add("p", f"**{title}**")
        rep.add("table", part)
        unreached = part[part["verdict"].str.startswith("not reached")]
        hardly = part[part["verdict"].str.contains("fail:")]
        words = (
            "Every one is reached."
            if unreached.empty
            else "Not reached: "
            + "; ".join(
                f"{r['target']} ({str(r['verdict']).removeprefix('not reached: ')})"
                for r in unreached.to_dict("records")
            )
            + "."
        )
        if not hardly.empty:
            words += " " + " ".join(
                f"{r['target']}: {str(r['verdict']).split(', but ', 1)[1]}."
                for r in hardly.to_dict("records")
            )
        rep.add("p", words)
    if contrast is not None and pair:
        table = contrast_summary(contrast, names)
        rep.add("h2", f"{pair[0]} against {pair[1]} inside the posterior")
        rep.add(
            "p",
            f"At each of the posterior draws, {pair[0]} and {pair[1]} ran with the draw's "
            "values and the same seeds (paired); the difference is their mean over the "
            "paired runs. Where the answer changes across the posterior, the partial "
            "Spearman correlations (partial_NAME: each parameter that changes the runs "
            "against the difference, the others held fixed by a linear fit on their ranks) "
            "say with which parameters; rho_NAME are the plain ones. Both are correlations "
            "across the posterior, not effects: parameters the targets trade against each "
            "other (a ridge in the pairs figure) share them, which the partial ones undo "
            "only for the parameters they hold fixed.",
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
