"""Experiments run any Mesa model (sim/experiments/adapters.py, `model = "module:Class"`):
the Boltzmann wealth example sweeps, reproduces, resumes and reports; what the report
plots against the swept parameter is that parameter; bad model strings are one line."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_cli import in_process as cli
from matplotlib.image import imread

from sim.experiments import load_experiment
from sim.experiments.compare import load_results
from sim.model.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (ROOT / "examples" / "boltzmann.toml").read_text(encoding="utf-8")
SMALL = (
    EXAMPLE.replace("replications = 20", "replications = 3")
    .replace("n = [20, 50, 100, 200]", "n = [10, 100]")
    .replace("steps = 100", "steps = 40")
)


def _folder(tmp_path: Path, text: str = SMALL) -> Path:
    shutil.copy(ROOT / "examples" / "boltzmann.py", tmp_path / "boltzmann.py")
    (tmp_path / "boltzmann.toml").write_text(text, encoding="utf-8")
    return tmp_path / "boltzmann.toml"


def test_the_example_sweeps_reports_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = _folder(tmp_path)
    out = tmp_path / "out"
    code, said, err = cli(capsys, "sweep", str(exp), "--out", str(out), "--workers", "2")
    assert code == 0, err
    assert "6 runs done, 0 failed" in said + err
    tables = load_results(out)
    results = tables.results.merge(tables.runs[["run_id", "n"]], on="run_id")
    assert set(results["n"]) == {10, 100}
    assert results["gini"].between(0, 1).all()
    # Ten agents on a hundred cells rarely meet: wealth stays more equal than with 100.
    by_n = results.groupby("n")["gini"].mean()
    assert by_n[10] < by_n[100]
    # The figure against n is drawn at the values of n, not at the runs' count.
    assert sorted(tables.steps["step"].unique()) == [0, 10, 20, 30, 40]
    figure = out / "figures" / "by_n_gini.png"
    assert imread(figure).shape[0] > 100
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "n=10" in report
    assert "n=100" in report
    assert "week" not in report.split("## Per scenario")[0]  # its steps are not weeks
    # More replications later: only the new ones run, and the first ones are unchanged.
    code, said, err = cli(
        capsys, "sweep", str(exp), "--out", str(out), "--resume", "--replications", "4"
    )
    assert code == 0, err
    assert "2 runs done" in said + err
    again = load_results(out).results
    first = results.set_index("run_id")["gini"]
    assert np.allclose(again.set_index("run_id").loc[first.index, "gini"], first)


def test_the_figure_against_a_parameter_named_n_is_at_its_values(tmp_path: Path) -> None:
    from sim.methods import analysis
    from sim.reporting import plots

    results = pd.DataFrame(
        {"run_id": ["a", "b", "c", "d"], "scenario": "m", "gini": [0.2, 0.3, 0.6, 0.7]}
    )
    runs = pd.DataFrame({"run_id": ["a", "b", "c", "d"], "n": [10, 10, 200, 200]})
    table = analysis.by_parameter(results, runs, "n", "gini")
    assert list(table["value"]) == [10, 200]
    assert list(table["n"]) == [2, 2]  # runs per value
    ax = plots.by_parameter(table, "n", "gini", {"m": "#0072B2"}).axes[0]
    xs = ax.containers[0].lines[0].get_xdata()
    assert [round(float(x)) for x in xs] == [10, 200]


def test_a_run_reproduces_from_its_seed_and_its_setup_pickles(tmp_path: Path) -> None:
    exp = load_experiment(_folder(tmp_path))
    model = exp.kind
    (setup,) = exp.scenarios
    assert pickle.loads(pickle.dumps(setup)) == setup  # workers rebuild it by name
    assert model.run(setup, 5, 0) == model.run(setup, 5, 0)
    assert model.run(setup, 5, 0) != model.run(setup, 6, 0)
    assert set(model.parameters()) == {"n", "width", "height", "steps"}


BROKEN = """
import mesa

class Breaks(mesa.Model):
    def __init__(self, crash_at: int = 3, rng=None):
        super().__init__(rng=rng)
        self.crash_at = crash_at
        self.datacollector = mesa.DataCollector(model_reporters={"t": lambda m: m.steps})
        self.datacollector.collect(self)

    def step(self):
        if self.steps >= self.crash_at:
            raise RuntimeError("the model broke")
        self.datacollector.collect(self)

class NoReporters(mesa.Model):
    def __init__(self, rng=None):
        super().__init__(rng=rng)

class NoRng(mesa.Model):
    def __init__(self, n: int = 3):
        super().__init__()

class Needs(mesa.Model):
    def __init__(self, n, rng=None):
        super().__init__(rng=rng)

def number(rng=None):
    return 3
"""


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("nosuchmodule:Model", "cannot import 'nosuchmodule'"),
        ("boltzmann:BoltzmanWealth", 'did you mean "BoltzmannWealth"'),
        ("broken:NoReporters", "NoReporters has no model reporters"),
        ("broken:NoRng", "takes no rng argument"),
        ("broken:Needs", "its argument 'n' has no default"),
        ("broken:number", "number returned int, not a mesa.Model"),
        ("boltzmann:", 'write it as "package.module:ClassName"'),
        ("boltzman", "is not allowed: one of 'trust'"),
    ],
)
def test_a_bad_model_string_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, words: str
) -> None:
    (tmp_path / "broken.py").write_text(BROKEN, encoding="utf-8")
    exp = _folder(tmp_path, SMALL.replace('"boltzmann:BoltzmannWealth"', f'"{model}"'))
    with pytest.raises(ScenarioError) as err:
        load_experiment(exp)
    assert len(err.value.lines) == 1, err.value.lines
    assert words in err.value.lines[0]
    assert str(exp) in err.value.lines[0]
    code, _, out = cli(capsys, "sweep", str(exp), "--out", str(tmp_path / "out"))
    assert code == 2
    assert words in out
    assert "Traceback" not in out


def test_an_outcome_it_does_not_report_is_named(tmp_path: Path) -> None:
    exp = _folder(tmp_path, SMALL.replace('"broke_share"]', '"brok_share"]'))
    with pytest.raises(ScenarioError, match=r"brok_share.*did you mean \"broke_share\""):
        load_experiment(exp)


def test_a_model_that_raises_is_a_recorded_failed_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.py").write_text(BROKEN, encoding="utf-8")
    exp = tmp_path / "broken.toml"
    exp.write_text(
        'model = "broken:Breaks"\nreplications = 2\noutcomes = ["t"]\n\n'
        "[parameters]\nsteps = 10\n\n[sweep]\nparameters = { crash_at = [3, 50] }\n",
        encoding="utf-8",
    )
    code, said, err = cli(capsys, "sweep", str(exp), "--out", str(tmp_path / "out"))
    assert "2 failed" in said + err, err
    runs = load_results(tmp_path / "out").runs
    failed = runs[runs["status"] == "failed"]
    assert set(failed["crash_at"]) == {3}
    assert code != 0 or len(failed) == 2


@pytest.mark.slow
def test_on_a_dask_cluster_the_runs_are_those_of_a_local_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    distributed = pytest.importorskip("distributed")
    exp = _folder(tmp_path)
    code, _, err = cli(
        capsys, "sweep", str(exp), "--out", str(tmp_path / "local"), "--workers", "1"
    )
    assert code == 0, err
    # The workers are processes of their own: they import the model from beside the file.
    with distributed.LocalCluster(
        n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        code, _, err = cli(
            capsys, "sweep", str(exp), "--out", str(tmp_path / "dask"),
            "--scheduler", cluster.scheduler_address,
        )  # fmt: skip
    assert code == 0, err
    local = load_results(tmp_path / "local").results.set_index("run_id")
    dask = load_results(tmp_path / "dask").results.set_index("run_id")
    pd.testing.assert_frame_equal(local[["gini", "broke_share"]], dask[["gini", "broke_share"]])


def test_a_sensitivity_design_runs_on_any_mesa_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SMALL.split("[sweep]")[0] + (
        '[sensitivity]\nmethod = "morris"\nsamples = 4\n\n[sensitivity.parameters]\n'
        "n = { min = 10, max = 200 }\nwidth = { min = 5, max = 20 }\n"
    )
    exp = _folder(tmp_path, text)
    code, _, err = cli(capsys, "sensitivity", str(exp), "--out", str(tmp_path / "out"))
    assert code == 0, err
    runs = load_results(tmp_path / "out").runs
    assert runs["n"].nunique() > 1
    assert runs["width"].between(5, 20).all()
    assert (tmp_path / "out" / "sensitivity.md").exists()
