"""Calibration (sim/experiments/abc.py, sim/methods/calibration.py): its settings' errors,
a parameter recovery at a tiny budget, the report's labels, and a resume after kill -9
(on a Dask cluster) that gives the posterior of a calibration that ran through."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_cli import in_process as cli

from sim.cli import main
from sim.experiments import load_experiment
from sim.methods.calibration import Prior, posterior_summary, predictive_check, recovery_table
from sim.model.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """# One team of 12 with a sponsored internal coach, surveyed at week 20.
preset = "top_down_internal"

[[surveys]]
instrument = "psychological_safety"
at = [20]
"""
EXPERIMENT = """# Can a calibration find the values that made its own targets?
scenarios = ["surveyed.toml"]
replications = 3
seed = 11
steps = 20
keep_steps = 0
outcomes = ["mean_skill", "within_team_trust"]

[calibration]
population = 30
generations = 3
predictive = 8
contrast = ["top_down_internal", "peer_led"]

[calibration.parameters]
learning_rate = { min = 0.05, max = 0.6 }
survey_bias = { min = -1.0, max = 1.0 }
"""
TARGETS = """[[targets]]
name = "skill"
statistic = "outcome_mean"
outcome = "mean_skill"
value = 0.5
se = 0.02
population = "made by the model"
source = "trustsim calibrate --recover"

[[targets]]
name = "safety_mean"
statistic = "survey_mean"
instrument = "psychological_safety"
week = 20
value = 4.0
se = 0.2
population = "made by the model"
source = "trustsim calibrate --recover"
"""
TRUTH = {"learning_rate": 0.3, "survey_bias": 0.4}
RECOVER = [arg for k, v in TRUTH.items() for arg in ("--recover", f"{k}={v}")]


def _files(folder: Path, experiment: str = EXPERIMENT, targets: str = TARGETS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "surveyed.toml").write_text(SCENARIO, encoding="utf-8")
    (folder / "cal.toml").write_text(experiment, encoding="utf-8")
    (folder / "targets.toml").write_text(targets, encoding="utf-8")
    return folder


# 1. The [calibration] section and the command's input: one clear line each -----------

BAD_SECTIONS = [
    ('parameters = "trust_gain"', 'calibration.parameters = "trust_gain" is not allowed: a list'),
    ("parameters = { trust_gian = { min = 0.1, max = 0.2 } }", 'did you mean "trust_gain"'),
    ('parameters = ["coach"]', "coach is not a number"),
    ("parameters = { trust_gain = { min = 0.5, max = 0.1 } }", "min = 0.5 must be below max"),
    ("parameters = { trust_gain = { min = 0.0, max = 2.0 } }", "trust_gain goes from 0.0 to 1.0"),
    (
        'parameters = { trust_gain = { min = 0.0, max = 0.5, scale = "log" } }',
        'scale = "log" needs min above 0',
    ),
    ('parameters = ["trust_gain", "trust_gain"]', "'trust_gain' is listed twice"),
    ('parameters = ["trust_gain"]\npopulation = 5', "calibration.population = 5 is not allowed"),
    ('parameters = ["trust_gain"]\npopulaton = 50', 'did you mean "population"'),
    ('parameters = ["trust_gain"]\ncontrast = ["peer_led"]', "calibration.contrast = "),
    ('parameters = ["trust_gain"]\ncontrast = ["no_such", "peer_led"]', "calibration.contrast[0]"),
]


@pytest.mark.parametrize(("section", "words"), BAD_SECTIONS, ids=[w for _, w in BAD_SECTIONS])
def test_a_bad_calibration_section_is_one_clear_line(
    tmp_path: Path, section: str, words: str
) -> None:
    path = tmp_path / "e.toml"
    path.write_text(f'scenarios = ["peer_led"]\n[calibration]\n{section}\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert len(err.value.lines) == 1, err.value.lines
    assert words in err.value.lines[0]
    assert str(path) in err.value.lines[0]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("[sweep]\nparameters = { trust_gain = [0.1, 0.2] }", "both [calibration] and [sweep]"),
        ("[parameters]\ntrust_gain = 0.1", "parameters.trust_gain is also estimated"),
        ('[replications]\nuntil = "mean_skill"\nhalf_width = 0.1', "needs a fixed count"),
    ],
)
def test_a_calibration_does_not_mix_with_what_would_hide_it(
    tmp_path: Path, extra: str, words: str
) -> None:
    path = tmp_path / "e.toml"
    path.write_text(
        f'scenarios = ["peer_led"]\n{extra}\n[calibration]\nparameters = ["trust_gain"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert any(words in line for line in err.value.lines), err.value.lines


def test_a_list_of_names_takes_each_ones_range_as_its_prior(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    text = 'scenarios = ["peer_led"]\n[calibration]\nparameters = ["trust_gain", "survey_bias"]\n'
    path.write_text(text, encoding="utf-8")
    cal = load_experiment(path).calibration
    assert cal is not None
    assert cal.parameters["trust_gain"] == Prior(min=0.0, max=1.0)
    assert cal.parameters["survey_bias"] == Prior(min=-2.0, max=2.0)


def test_bad_command_input_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _files(tmp_path)
    exp, targets = str(d / "cal.toml"), str(d / "targets.toml")
    late = TARGETS.replace("week = 20", "week = 30")
    (d / "late.toml").write_text(late, encoding="utf-8")
    cases = [
        (["experiments/sponsorship_vs_peer.toml", "--targets", targets], "no [calibration]"),
        (
            [exp, "--targets", targets, "--recover", "learning_rate=0.3"],
            "true value of survey_bias",
        ),
        (
            [exp, "--targets", targets, *RECOVER, "--recover", "trust_gain=0.1"],
            "--recover trust_gain",
        ),
        (
            [
                exp,
                "--targets",
                targets,
                "--recover",
                "learning_rate=0.9",
                "--recover",
                "survey_bias=0",
            ],
            "outside its prior (uniform on [0.05, 0.6])",
        ),
        (
            [exp, "--targets", targets, "--recover", "learning_rate=high"],
            "a true value is a number",
        ),
        ([exp, "--targets", str(d / "late.toml")], "no psychological_safety survey at week 30"),
        ([exp, "--targets", targets, "--population", "5"], "--population 5: must be 10 or more"),
        ([exp, "--targets", str(d / "missing.toml")], "missing.toml"),
    ]
    for args, words in cases:
        code, _, err = cli(capsys, "calibrate", *args, "--out", str(d / "out"))
        lines = err.strip().splitlines()
        assert code == 2, (args, err)
        assert len(lines) == 1, (args, err)
        assert words in lines[0], (args, err)
        assert "Traceback" not in err
        assert not (d / "out").exists(), args


# 2. A parameter recovery, and what its report says --------------------------------------


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A parameter recovery at a tiny budget, run through (2 workers)."""
    d = _files(tmp_path_factory.mktemp("recovery"))
    code = main(
        [
            "calibrate",
            str(d / "cal.toml"),
            "--targets",
            str(d / "targets.toml"),
            *RECOVER,
            "--out",
            str(d / "out"),
            "--workers",
            "2",
        ]
    )
    assert code == 0
    return d / "out"


@pytest.mark.slow
def test_the_posterior_covers_the_true_values_and_narrows(recovered: Path) -> None:
    particles = pd.read_csv(recovered / "posterior.csv")
    plan = json.loads((recovered / "calibration.json").read_text(encoding="utf-8"))
    priors = {n: Prior.model_validate(p) for n, p in plan["priors"].items()}
    summary = posterior_summary(particles, priors).set_index("parameter")
    table = recovery_table(summary.reset_index(), TRUTH)
    assert table["covered"].all(), table
    # Both targets carry information (a posterior no narrower than its prior would have
    # shrinkage 0), and the survey's mean moves its bias from the prior's centre (0)
    # towards the truth.
    assert summary.loc["survey_bias", "shrinkage"] > 0.3, summary
    assert summary.loc["learning_rate", "shrinkage"] > 0.2, summary
    assert abs(summary.loc["survey_bias", "median"] - TRUTH["survey_bias"]) < 0.25, summary
    assert sorted(particles["generation"].unique()) == [0, 1, 2]
    assert (particles.groupby("generation").size() == 30).all()
    weights = particles.groupby("generation")["weight"].sum()
    assert np.allclose(weights, 1.0)
    made = (recovered / "recovery_targets.toml").read_text(encoding="utf-8")
    assert "the model itself at learning_rate = 0.3, survey_bias = 0.4" in made


def test_the_report_says_what_it_compares(recovered: Path) -> None:
    md = (recovered / "calibration.md").read_text(encoding="utf-8")
    for words in (
        "## Posterior",
        "## Parameter recovery",
        "## Posterior predictive check",
        "top_down_internal against peer_led inside the posterior",
        "learning_rate",
        "survey_bias",
        "skill",
        "safety_mean",
    ):
        assert words in md, words
    check = pd.read_csv(recovered / "predictive_check.csv")
    assert list(check["target"]) == ["skill", "safety_mean"]
    # A check of targets the model made itself: both are reached.
    assert check["verdict"].str.startswith("reached").all(), check
    for name in (
        "posterior_marginals",
        "posterior_pairs",
        "abc_generations",
        "predictive_check",
        "posterior_contrast",
    ):
        assert (recovered / "figures" / f"{name}.png").stat().st_size > 10_000, name
    html = (recovered / "calibration.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64") == 5


def test_the_contrast_runs_the_two_scenarios_it_names(recovered: Path) -> None:
    contrast = pd.read_csv(recovered / "contrast.csv")
    draws = pd.read_csv(recovered / "predictive.csv")
    assert set(contrast["outcome"]) == {"mean_skill", "within_team_trust"}
    assert contrast["draw"].nunique() == 8 == draws["draw"].nunique()
    # Two different regimes at the same values and seeds: their runs differ.
    assert (contrast["a"] != contrast["b"]).all()
    # At each draw, the contrast ran the posterior values the predictive check ran.
    first = contrast.groupby("draw")[["learning_rate", "survey_bias"]].first()
    same = draws.groupby("draw")[["learning_rate", "survey_bias"]].first()
    pd.testing.assert_frame_equal(first, same)


def test_the_predictive_check_says_plainly_what_is_not_reached() -> None:
    draws = pd.DataFrame(
        {
            "draw": [0, 1, 2, 0, 1, 2],
            "target": ["a"] * 3 + ["b"] * 3,
            "value": [0.80, 0.82, 0.78, 0.30, 0.31, 0.29],
        }
    )
    observed = pd.DataFrame({"target": ["a", "b"], "value": [0.30, 0.30], "se": [0.05, 0.05]})
    check = predictive_check(draws, observed).set_index("target")
    assert check.loc["a", "verdict"].startswith("not reached: the model is higher at 100%")
    assert check.loc["b", "verdict"].startswith("reached")


# 3. Resume: kill -9 mid-generation, go on, and get the posterior of a run through ---------


@pytest.mark.slow
def test_a_killed_calibration_resumes_to_the_same_posterior(
    recovered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _files(tmp_path)
    out = d / "out"
    args = [
        "calibrate",
        str(d / "cal.toml"),
        "--targets",
        str(d / "targets.toml"),
        *RECOVER,
        "--out",
        str(out),
        "--no-report",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args, "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    cached = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(out / "candidates.sqlite", timeout=0.1) as db:
                cached = db.execute("SELECT count(*) FROM candidates WHERE t = 1").fetchone()[0]
        except sqlite3.Error:
            cached = 0
        if cached >= 3:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert cached >= 3, "the calibration ended before generation 1 had begun"
    with sqlite3.connect(out / "abc.sqlite") as db:
        done = db.execute("SELECT max(t) FROM populations").fetchone()[0]
    assert done == 0, "killed in generation 1: only generation 0 is stored"
    # Resumed here on a Dask cluster of two workers: the posterior of the calibration that
    # ran through on a process pool.
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        code, _, err = cli(capsys, *args, "--resume", "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    assert "was stopped without ending" in err
    assert "on 2 workers" in err
    for table in ("posterior.csv", "predictive.csv", "contrast.csv"):
        assert (out / table).read_bytes() == (recovered / table).read_bytes(), table
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert "holds a calibration already" in err
    # A resume that would change what the posterior means is refused.
    (d / "targets.toml").write_text(TARGETS.replace("se = 0.2", "se = 0.3"), encoding="utf-8")
    code, _, err = cli(capsys, *args, "--resume")
    assert code == 2
    assert "cannot resume: the targets file changed" in err
