"""Global sensitivity analysis: designs, indices against known answers, the command line.

The reference is the Ishigami function, whose Sobol indices are known analytically; it
runs as an experiment through the same runner and store as the trust model.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_cli import trustsim

from sim.experiments import expand, load_experiment, run
from sim.experiments.compare import load_results, sensitivity_results, write_sensitivity
from sim.methods.sensitivity import Range, Sensitivity, analyze, design, noise, ranking_sentences
from sim.model.scenario import ScenarioError
from sim.reference.ishigami import analytic_indices

ROOT = Path(__file__).resolve().parent.parent
PI = math.pi


def ishigami_file(
    folder: Path,
    method: str = "sobol",
    samples: int = 512,
    noise_sd: float = 0.0,
    replications: int = 1,
    extra: str = "",
) -> Path:
    text = f"""# Ishigami: are the indices right?
model = "ishigami"
seed = 3
replications = {replications}
outcomes = ["y"]
{extra}
[parameters]
noise_sd = {noise_sd}

[sensitivity]
method = "{method}"
samples = {samples}

[sensitivity.parameters]
x1 = {{ min = {-PI!r}, max = {PI!r} }}
x2 = {{ min = {-PI!r}, max = {PI!r} }}
x3 = {{ min = {-PI!r}, max = {PI!r} }}
"""
    path = folder / f"ishigami_{method}.toml"
    path.write_text(text, encoding="utf-8")
    return path


# Designs ------------------------------------------------------------------------------


def test_sobol_and_morris_designs_have_salibs_sizes_and_repeat_from_the_seed() -> None:
    ranges = {n: Range(min=0, max=1) for n in ("a", "b", "c")}
    sobol = Sensitivity(method="sobol", samples=64, parameters=ranges)
    morris = Sensitivity(method="morris", samples=10, parameters=ranges)
    assert design(sobol, 1).shape == (64 * (3 + 2), 3)  # Saltelli, no second order
    assert design(morris, 1).shape == (10 * (3 + 1), 3)  # trajectories of D + 1 points
    np.testing.assert_array_equal(design(sobol, 1), design(sobol, 1))
    assert not np.array_equal(design(sobol, 1), design(sobol, 2))
    unit = design(morris, 1)
    assert unit.min() >= 0
    assert unit.max() <= 1


def test_points_lie_in_their_ranges_and_integers_stay_integers(tmp_path: Path) -> None:
    path = tmp_path / "core.toml"
    path.write_text(
        """# Which parameters matter?
scenarios = ["top_down_internal"]
replications = 2
[sensitivity]
method = "sobol"
samples = 8
[sensitivity.parameters]
coach_capacity = { min = 1, max = 4 }
trust_gain = { min = 0.02, max = 0.2 }
""",
        encoding="utf-8",
    )
    exp = load_experiment(path)
    specs = expand(exp, range(2))
    assert len(specs) == 8 * (2 + 2) * 2
    capacity = {s.scenario.coach_capacity for s in specs}
    assert capacity <= {1, 2, 3, 4}
    assert len(capacity) > 1
    assert all(isinstance(s.scenario.coach_capacity, int) for s in specs)
    gains = [s.scenario.trust_gain for s in specs]
    assert min(gains) >= 0.02
    assert max(gains) <= 0.2
    # Replication r has the same seed at every point (common random numbers).
    assert len({s.seed for s in specs if s.replication == 0}) == 1


# Indices against the analytic answer ----------------------------------------------------


@pytest.fixture(scope="module")
def ishigami_sobol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ishigami")
    path = ishigami_file(folder, samples=1024, noise_sd=0.5, replications=2)
    report = run(path, out=folder / "out", workers=2, progress=False)
    assert (report.done, report.failed) == (1024 * 5 * 2, 0)
    return folder / "out"


def test_sobol_indices_of_ishigami_match_the_analytic_values_within_their_cis(
    ishigami_sobol: Path,
) -> None:
    res = sensitivity_results(load_results(ishigami_sobol))
    assert res is not None
    truth = analytic_indices()
    table = res.indices.set_index(["parameter", "index"])
    for index in ("S1", "ST"):
        for name, value in truth[index].items():
            row = table.loc[(name, index)]
            assert row["ci_low"] <= value <= row["ci_high"], (name, index, row.to_dict(), value)
            assert row["ci_high"] - row["ci_low"] < 0.2, "CIs narrow enough to mean something"
    # x3 matters only with x1: no first-order effect, a clear total one.
    assert "x3 (total 0.2" in " ".join(res.sentences)


def test_noise_share_is_estimated_and_reported(ishigami_sobol: Path) -> None:
    res = sensitivity_results(load_results(ishigami_sobol))
    assert res is not None
    row = res.noise.iloc[0]
    expected = 0.25 / (analytic_indices()["variance"]["y"] + 0.25)  # noise sd 0.5
    assert row["single_run"] == pytest.approx(expected, rel=0.25)
    assert row["in_means"] == pytest.approx(expected / 2, rel=0.3)  # two runs per point
    assert row["replications"] == 2


def test_sensitivity_files_report_and_figure(ishigami_sobol: Path) -> None:
    text = write_sensitivity(ishigami_sobol)
    assert (ishigami_sobol / "sensitivity.md").read_text(encoding="utf-8") == text
    tidy = pd.read_csv(ishigami_sobol / "sensitivity.csv")
    assert set(tidy["index"]) == {"S1", "ST"}
    assert set(tidy["parameter"]) == {"x1", "x2", "x3"}
    assert {"value", "ci_low", "ci_high", "outcome", "scenario"} <= set(tidy.columns)
    done = trustsim("report", str(ishigami_sobol))
    assert done.returncode == 0, done.stderr
    md = (ishigami_sobol / "report.md").read_text(encoding="utf-8")
    assert "## Sensitivity: which parameters matter" in md
    assert "How the noise was handled" in md
    assert (ishigami_sobol / "figures" / "sensitivity_y.png").is_file()


def test_noise_with_one_replication_is_unknown_not_zero() -> None:
    frame = pd.DataFrame({"point": [0, 1, 2], "y": [1.0, 2.0, 3.0]})
    assert math.isnan(noise(frame, "y")["single_run"])


def test_morris_ranks_ishigami_parameters(tmp_path: Path) -> None:
    path = ishigami_file(tmp_path, method="morris", samples=50)
    report = run(path, out=tmp_path / "out", workers=1, progress=False)
    assert report.done == 50 * 4
    exp = load_experiment(path)
    assert exp.sensitivity is not None
    results = load_results(tmp_path / "out").results
    table = analyze(exp.sensitivity, exp.seed, results, "y")
    assert table is not None
    mu = table[table["index"] == "mu_star"].set_index("parameter")["value"]
    sigma = table[table["index"] == "sigma"].set_index("parameter")["value"]
    # Ishigami: x1 and x2 have the largest effects; x3 acts only through x1, so its
    # effects vary widely (sigma above mu*).
    assert mu["x3"] < max(mu["x1"], mu["x2"])
    assert sigma["x3"] > mu["x3"] * 0.8
    assert set(table["index"]) == {"mu_star", "mu", "sigma"}
    signed = table[table["index"] == "mu"].set_index("parameter")["value"]
    assert (signed.abs() <= mu + 1e-12).all()  # a mean of effects is at most their mean size


def test_an_unfinished_design_is_not_analysed_but_named(tmp_path: Path) -> None:
    ranges = {"x1": Range(min=0, max=1), "x2": Range(min=0, max=1)}
    sens = Sensitivity(method="sobol", samples=8, parameters=ranges)
    half = pd.DataFrame({"point": range(10), "y": np.arange(10.0)})  # of 32 points
    assert analyze(sens, 0, half, "y") is None


# The command line -----------------------------------------------------------------------


@pytest.mark.slow
def test_cli_samples_override_resume_and_changed_plan(tmp_path: Path) -> None:
    path = ishigami_file(tmp_path, samples=512)
    out = tmp_path / "out"
    done = trustsim(
        "sensitivity", str(path), "--samples", "16", "--out", str(out), "--workers", "1"
    )
    assert done.returncode == 0, done.stderr
    assert "| x1 |" in done.stdout
    assert "Sobol indices" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("ishigami_sobol: 80 runs done, 0 failed")
    again = trustsim(
        "sensitivity", str(path), "--samples", "16", "--out", str(out), "--resume", "--no-report"
    )
    assert again.returncode == 0, again.stderr
    assert "ishigami_sobol: 80 runs already stored, none run" in again.stdout
    # Saltelli's design for N = 32 begins with the one for N = 16: resuming extends it
    more = trustsim("sensitivity", str(path), "--samples", "32", "--out", str(out), "--resume")
    assert more.returncode == 0, more.stderr
    assert "80 runs done, 0 failed, 80 already stored" in more.stdout
    path.write_text(path.read_text(encoding="utf-8").replace("seed = 3", "seed = 4"))
    changed = trustsim("sensitivity", str(path), "--samples", "32", "--out", str(out), "--resume")
    assert changed.returncode == 2
    assert "cannot resume" in changed.stderr
    assert "runs with other parameters" in changed.stderr
    assert "they were run with --samples 32" in changed.stderr
    assert "Traceback" not in changed.stderr


BAD = {
    "unknown_method": (
        'method = "fast"\n',
        ["sensitivity.method", "'fast'", "'sobol'", "'morris'"],
    ),
    "unknown_parameter": (
        "[sensitivity.parameters.trust_gian]\nmin = 0\nmax = 1\n",
        ["trust_gian", "trust_gain"],
    ),
    "list_not_range": (
        "[sensitivity.parameters]\ntrust_loss = [0.1, 0.2]\n",
        ["sensitivity.parameters.trust_loss", "[0.1, 0.2]", "min = ..., max = ..."],
    ),
    "unknown_outcome": ('outcomes = ["skill"]\n', ["sensitivity.outcomes", "'skill'"]),
    "missing_samples": (None, ["sensitivity.samples is missing"]),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_sensitivity_sections_get_one_clear_line(tmp_path: Path, case: str) -> None:
    extra, words = BAD[case]
    body = "[sensitivity]\n" + ('method = "sobol"\n' if case != "unknown_method" else "")
    if case != "missing_samples":
        body += "samples = 8\n"
    if case in ("unknown_method", "unknown_outcome"):
        body += str(extra)
        extra = ""
    if not case.startswith(("unknown_parameter", "list_not")):
        body += "[sensitivity.parameters]\ntrust_gain = { min = 0.02, max = 0.2 }\n"
    text = f'# Which matter?\nscenarios = ["peer_led"]\nreplications = 2\n{body}{extra or ""}'
    tomllib.loads(text)  # the test's own file is valid TOML
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    done = trustsim("sensitivity", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}") or lines[0].startswith(str(path)), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (tmp_path / "out").exists(), "nothing runs on a bad file"


def test_file_without_a_sensitivity_section_is_refused_by_name(tmp_path: Path) -> None:
    done = trustsim("sensitivity", "experiments/sponsorship_vs_peer.toml", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "has no [sensitivity] section" in done.stderr
    assert "Traceback" not in done.stderr


def test_sweep_and_sensitivity_together_or_adaptive_replications_are_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "both.toml"
    path.write_text(
        """# Both?
scenarios = ["peer_led"]
[replications]
until = "mean_skill"
half_width = 0.01
[sweep]
[sweep.parameters]
trust_gain = [0.1, 0.2]
[sensitivity]
samples = 8
[sensitivity.parameters]
trust_gain = { min = 0.02, max = 0.2 }
""",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    text = "\n".join(err.value.lines)
    assert "both [sweep] and [sensitivity]" in text
    assert "needs a fixed count" in text


@pytest.mark.parametrize(
    ("ranges", "words"),
    [
        (
            "trust_gain = { min = -1.0, max = 0.2 }",
            ["sensitivity.parameters.trust_gain", "min = -1.0", "goes from 0.0 to 1.0"],
        ),
        (
            "trust_rule = { min = 0, max = 1 }",
            ["sensitivity.parameters.trust_rule", "is not a number", "factorial [sweep]"],
        ),
    ],
)
def test_ranges_are_checked_as_written_not_at_a_sampled_point(
    tmp_path: Path, ranges: str, words: list[str]
) -> None:
    path = tmp_path / "ranges.toml"
    path.write_text(
        '# Which matter?\nscenarios = ["peer_led"]\nreplications = 2\n'
        f"[sensitivity]\nsamples = 8\n[sensitivity.parameters]\n{ranges}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert len(err.value.lines) == 1
    for word in words:
        assert word in err.value.lines[0], (word, err.value.lines[0])
    assert "point" not in err.value.lines[0]


def test_second_order_indices_of_ishigami_find_the_x1_x3_interaction(tmp_path: Path) -> None:
    path = ishigami_file(tmp_path, samples=1024, extra="")
    text = path.read_text(encoding="utf-8").replace(
        "samples = 1024\n", "samples = 1024\nsecond_order = true\n"
    )
    path.write_text(text, encoding="utf-8")
    report = run(path, out=tmp_path / "out", workers=2, progress=False)
    assert report.done == 1024 * (2 * 3 + 2)
    res = sensitivity_results(load_results(tmp_path / "out"))
    assert res is not None
    s2 = res.indices[res.indices["index"] == "S2"].set_index("parameter")
    for pair, value in analytic_indices()["S2"].items():
        assert s2.loc[pair, "ci_low"] <= value <= s2.loc[pair, "ci_high"], pair
    assert s2.loc["x1 x x3", "ci_low"] > 0.05  # the one interaction, clearly
    said = " ".join(res.sentences)
    assert "pairs that interact: x1 x x3" in said
    assert "x1 x x2" not in said
    assert "Second-order indices S2" in res.markdown()


def test_second_order_needs_sobol(tmp_path: Path) -> None:
    path = ishigami_file(tmp_path, method="morris", samples=10)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "samples = 10\n", "samples = 10\nsecond_order = true\n"
        ),
        encoding="utf-8",
    )
    done = trustsim("validate", str(path))
    assert done.returncode == 2
    assert "second_order = true needs method" in done.stderr
    assert "Traceback" not in done.stderr


def test_noise_that_dominates_the_point_means_names_no_driver() -> None:
    table = pd.DataFrame(
        [
            ("a", "S1", 0.6, 0.5, 0.7),
            ("a", "ST", 0.7, 0.6, 0.8),
            ("b", "S1", 0.0, -0.05, 0.05),
            ("b", "ST", 0.02, 0.0, 0.04),
        ],
        columns=["parameter", "index", "value", "ci_low", "ci_high"],
    ).assign(method="sobol", outcome="y")
    clear = " ".join(ranking_sentences(table, "y", noise_share=0.1))
    assert "driven by a" in clear
    noisy = " ".join(ranking_sentences(table, "y", noise_share=0.8))
    assert "driven by" not in noisy
    assert "80% of the variance of the point means is run-to-run noise" in noisy
    assert "a (total 0.70 [0.60, 0.80]) may matter" in noisy
