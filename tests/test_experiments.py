"""Experiments: expansion, seeds, adaptive replications, backends, failures, bad files.

The store's survival of kill -9 and the export are in test_store.py; the statistics
on known answers in test_analysis.py.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import tomllib
import traceback
from pathlib import Path

import helpers_runs
import numpy as np
import pandas as pd
import pytest

from sim import cli
from sim.experiments import expand, load_experiment, replication_seed, run
from sim.experiments.compare import write_comparison
from sim.experiments.expansion import ci_half_width

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tiny_scenarios(folder: Path, members: int = 6) -> None:
    """Small scenario files named like the presets they start from."""
    for name in ("peer_led", "no_coaching"):
        write(folder / f"{name}.toml", f'preset = "{name}"\nmembers = {members}\n')


def tidy(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """A store table in a fixed order, without the columns that may differ (wall time)."""
    frame = frame.drop(columns=["wall_time"], errors="ignore")
    return frame.sort_values(keys).reset_index(drop=True)


def assert_same_tables(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    for name, keys in (
        ("runs", ["run_id"]),
        ("summaries", ["run_id"]),
        ("steps", ["run_id", "step"]),
    ):
        a, b = tidy(left[name], keys), tidy(right[name], keys)
        assert len(a) > 0, name
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)


def assert_same_comparison(left: Path, right: Path) -> None:
    """The comparison (bootstrap CIs included) does not depend on the order runs came back."""
    assert write_comparison(left) == write_comparison(right)
    a = (left / "compare.csv").read_text(encoding="utf-8")
    b = (right / "compare.csv").read_text(encoding="utf-8")
    assert a == b


# 1. Expansion --------------------------------------------------------------------

FACTORIAL = """
scenarios = ["peer_led", "no_coaching"]
replications = 3
seed = 17
[sweep]
method = "factorial"
[sweep.parameters]
members = [4, 6, 8]
levels = [1, 2]
trust_gain = [0.05, 0.15]
"""


def test_factorial_gives_the_product_of_the_value_lists(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path / "fact.toml", FACTORIAL))
    specs = expand(exp, range(3))
    assert len(specs) == 2 * (3 * 2 * 2) * 3
    points = {s.point: dict(s.swept) for s in specs}
    assert len(points) == 12
    expected = {
        (("levels", lv), ("members", m), ("trust_gain", g))
        for m, lv, g in itertools.product([4, 6, 8], [1, 2], [0.05, 0.15])
    }
    assert {tuple(sorted(p.items())) for p in points.values()} == expected
    for spec in specs:
        swept = dict(spec.swept)
        assert spec.scenario.members == swept["members"]
        assert spec.scenario.levels == swept["levels"]
        assert spec.scenario.trust_gain == swept["trust_gain"]
        assert spec.scenario.name in ("peer_led", "no_coaching")
    # every (scenario, point, replication) exactly once
    cells = [(s.scenario.name, s.point, s.replication) for s in specs]
    assert len(set(cells)) == len(cells)


SAMPLED = """
scenarios = ["peer_led", "no_coaching"]
replications = 2
seed = {seed}
[sweep]
method = "{method}"
samples = 8
[sweep.parameters]
members = {{ min = 4, max = 20 }}
levels = {{ min = 1, max = 4 }}
trust_gain = {{ min = 0.05, max = 0.2 }}
"""
RANGES = {"members": (4, 20), "levels": (1, 4), "trust_gain": (0.05, 0.2)}


def sampled_points(tmp_path: Path, method: str, seed: int) -> tuple[list[dict], list]:
    path = write(tmp_path / f"{method}_{seed}.toml", SAMPLED.format(method=method, seed=seed))
    specs = expand(load_experiment(path), range(2))
    points = {s.point: dict(s.swept) for s in specs}
    return [points[p] for p in sorted(points)], specs


@pytest.mark.parametrize("method", ["lhs", "sobol"])
def test_lhs_and_sobol_give_samples_points_inside_their_ranges(tmp_path: Path, method: str) -> None:
    points, specs = sampled_points(tmp_path, method, seed=3)
    assert len(points) == 8
    assert len(specs) == 2 * 8 * 2
    for point in points:
        assert set(point) == set(RANGES)
        for name, (low, high) in RANGES.items():
            assert low <= point[name] <= high, (name, point)
        # integer parameters come out as ints, continuous ones as floats
        assert type(point["members"]) is int
        assert type(point["levels"]) is int
        assert type(point["trust_gain"]) is float
    for spec in specs:
        assert type(spec.scenario.members) is int
        assert spec.scenario.members == dict(spec.swept)["members"]
        assert spec.scenario.levels == dict(spec.swept)["levels"]
    # both designs put one of the 8 points in each eighth of a continuous range
    low, high = RANGES["trust_gain"]
    strata = sorted(int((p["trust_gain"] - low) / (high - low) * 8) for p in points)
    assert strata == list(range(8))


@pytest.mark.parametrize("method", ["lhs", "sobol"])
def test_sampled_points_are_reproducible_for_the_same_seed(tmp_path: Path, method: str) -> None:
    first, _ = sampled_points(tmp_path, method, seed=3)
    again, _ = sampled_points(tmp_path / "again", method, seed=3)
    other, _ = sampled_points(tmp_path, method, seed=4)
    assert first == again
    assert first != other


def test_replication_r_has_the_same_seed_in_every_scenario_and_point(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path / "fact.toml", FACTORIAL))
    specs = expand(exp, range(5))
    by_rep: dict[int, set[int]] = {}
    for spec in specs:
        by_rep.setdefault(spec.replication, set()).add(spec.seed)
    assert sorted(by_rep) == [0, 1, 2, 3, 4]
    for r, seeds in by_rep.items():
        assert seeds == {replication_seed(17, r)}, r
    # different replications, different seeds
    assert len({next(iter(s)) for s in by_rep.values()}) == 5
    # run ids are unique
    ids = [s.run_id for s in specs]
    assert len(set(ids)) == len(ids)
    # a run's id and seed do not depend on how many replications are expanded
    seeds = {s.run_id: s.seed for s in specs}
    assert all(seeds[s.run_id] == s.seed for s in expand(exp, range(2)))
    # the experiment seed decides the seeds
    assert replication_seed(17, 0) == replication_seed(17, 0)
    assert replication_seed(17, 0) != replication_seed(18, 0)
    assert 0 <= replication_seed(17, 0) < 2**63


# 2. Adaptive replications ---------------------------------------------------------

ADAPTIVE = """
scenarios = ["peer_led.toml", "no_coaching.toml"]
seed = 9
steps = 10
keep_steps = 0
[replications]
until = "mean_skill"
half_width = {half_width}
min = 4
max = 12
[sweep]
[sweep.parameters]
levels = [1, 2]
"""


def run_adaptive(tmp_path: Path, half_width: float) -> pd.DataFrame:
    tiny_scenarios(tmp_path, members=4)
    path = write(tmp_path / "adaptive.toml", ADAPTIVE.format(half_width=half_width))
    report = run(path, out=tmp_path / "out", workers=1, progress=False)
    runs = report.tables["runs"]
    assert report.failed == 0
    assert len(runs) == report.done
    assert (runs["status"] == "done").all()
    assert runs["run_id"].is_unique
    return report.tables


def cell_counts(runs: pd.DataFrame) -> dict[tuple[str, int], int]:
    return {
        (str(s), int(p)): int(n) for (s, p), n in runs.groupby(["scenario", "point"]).size().items()
    }


def test_adaptive_loose_target_stops_at_min(tmp_path: Path) -> None:
    tables = run_adaptive(tmp_path, half_width=10.0)
    counts = cell_counts(tables["runs"])
    assert len(counts) == 4
    assert set(counts.values()) == {4}


def test_adaptive_tight_target_runs_up_to_max(tmp_path: Path) -> None:
    tables = run_adaptive(tmp_path, half_width=1e-9)
    runs = tables["runs"]
    counts = cell_counts(runs)
    assert len(counts) == 4
    assert set(counts.values()) == {12}
    # the replications of each cell are 0..11, paired across cells by seed
    for _, cell in runs.groupby(["scenario", "point"]):
        assert sorted(cell["replication"]) == list(range(12))
        assert sorted(cell["seed"]) == sorted(replication_seed(9, r) for r in range(12))


def test_adaptive_stops_each_cell_when_its_target_is_met(tmp_path: Path) -> None:
    # a target between the cells' half-widths at 4 runs: some cells stop early, some go on
    tables = run_adaptive(tmp_path, half_width=0.004)
    runs = tables["runs"].merge(tables["summaries"], on="run_id")
    for (scenario, point), cell in runs.groupby(["scenario", "point"]):
        n = len(cell)
        assert 4 <= n <= 12, (scenario, point, n)
        assert sorted(cell["replication"]) == list(range(n))
        hw = ci_half_width(cell["mean_skill"].astype(float).to_numpy())
        # a cell stops below max only once its target is met
        assert n == 12 or hw <= 0.004, (scenario, point, n, hw)


def test_adaptive_counts_a_failed_run_once(tmp_path: Path) -> None:
    # Replication 1 of peer_led always raises (at both sweep points). The final line must
    # count failed runs, not attempts: a failed run must not be retried every round.
    tiny_scenarios(tmp_path, members=4)
    text = ADAPTIVE.format(half_width=1e-9).replace(
        "seed = 9", f"seed = {helpers_runs.FAIL_EXPERIMENT_SEED}"
    )
    path = write(tmp_path / "adaptive.toml", text)
    report = run(
        path, out=tmp_path / "out", workers=1, run_fn=helpers_runs.fail_one_run, progress=False
    )
    runs = report.tables["runs"]
    assert runs["run_id"].is_unique
    assert (runs["status"] == "failed").sum() == 2  # replication 1 of peer_led at both points
    assert report.failed == 2, f"report.failed = {report.failed}, store holds 2 failed runs"
    assert report.done + report.failed == len(runs)


# 3. The same results whatever the backend -----------------------------------------

SAME = """
scenarios = ["peer_led.toml", "no_coaching.toml"]
replications = 5
seed = 31
steps = 20
keep_steps = 5
[sweep]
[sweep.parameters]
levels = [1, 2]
"""


@pytest.fixture(scope="module")
def same_experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("same")
    tiny_scenarios(folder)
    return write(folder / "same.toml", SAME)


@pytest.fixture(scope="module")
def one_worker_tables(same_experiment: Path) -> dict[str, pd.DataFrame]:
    report = run(same_experiment, out=same_experiment.parent / "w1", workers=1, progress=False)
    assert (report.done, report.failed) == (20, 0)
    return report.tables


def test_same_results_with_one_and_two_workers(
    same_experiment: Path, one_worker_tables: dict[str, pd.DataFrame]
) -> None:
    report = run(same_experiment, out=same_experiment.parent / "w2", workers=2, progress=False)
    assert (report.done, report.failed) == (20, 0)
    assert_same_tables(one_worker_tables, report.tables)
    assert_same_comparison(same_experiment.parent / "w1", report.folder)
    # 5 steps kept: 0, 5, 10, 15, 20 (every 5th, and the last)
    assert len(report.tables["steps"]) == 20 * 5


def test_a_sweep_leaves_no_thread_behind(same_experiment: Path) -> None:
    # A thread left running (tqdm's monitor did) makes the next sweep in the same
    # script start its workers by forkserver, 1.5 s slower, instead of forking them.
    before = threading.enumerate()
    for workers, progress in ((1, True), (2, False)):
        run(
            same_experiment,
            out=same_experiment.parent / f"threads{workers}",
            workers=workers,
            replications=1,
            progress=progress,
        )
        assert threading.enumerate() == before


@pytest.mark.slow
def test_same_results_on_a_dask_local_cluster(
    same_experiment: Path, one_worker_tables: dict[str, pd.DataFrame]
) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        report = run(
            same_experiment, out=same_experiment.parent / "dask", client=client, progress=False
        )
    assert (report.done, report.failed) == (20, 0)
    assert_same_tables(one_worker_tables, report.tables)
    assert_same_comparison(same_experiment.parent / "w1", report.folder)


# 5. A run that raises --------------------------------------------------------------

FAILING = f"""
scenarios = ["peer_led.toml", "no_coaching.toml"]
replications = 3
seed = {helpers_runs.FAIL_EXPERIMENT_SEED}
steps = 10
keep_steps = 5
"""


def test_a_run_that_raises_is_recorded_and_the_others_finish(tmp_path: Path) -> None:
    tiny_scenarios(tmp_path)
    path = write(tmp_path / "failing.toml", FAILING)
    out = tmp_path / "out"
    report = run(path, out=out, workers=1, run_fn=helpers_runs.fail_one_run, progress=False)
    assert (report.done, report.failed) == (5, 1)
    runs = report.tables["runs"].set_index("run_id")
    bad = f"{helpers_runs.FAIL_SCENARIO}/p0/r{helpers_runs.FAIL_REPLICATION}"
    assert runs.loc[bad, "status"] == "failed"
    error = runs.loc[bad, "error"]
    assert "Traceback" in error
    assert helpers_runs.MESSAGE in error
    assert "InjectedFailureError" in error
    others = runs.drop(index=bad)
    assert len(others) == 5
    assert (others["status"] == "done").all()
    assert others["error"].isna().all()
    # the failed run has no summary and no steps
    assert set(report.tables["summaries"]["run_id"]) == set(others.index)
    assert set(report.tables["steps"]["run_id"]) == set(others.index)
    assert "1 failed" in report.line("failing")

    # --resume runs the failed one again (and only that one)
    again = run(path, out=out, workers=1, resume=True, progress=False)
    assert (again.done, again.failed, again.skipped) == (1, 0, 5)
    runs = again.tables["runs"]
    assert len(runs) == 6
    assert runs["run_id"].is_unique
    assert (runs["status"] == "done").all()
    assert len(again.tables["summaries"]) == 6


def test_failed_runs_give_exit_code_1_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI cannot be given a run function: the fast path itself is patched, in
    # this process (workers=1 runs the batches here), and main() is the CLI's entry.
    import sim.model.fast

    monkeypatch.setattr(sim.model.fast, "simulate", helpers_runs.exploding_simulate)
    tiny_scenarios(tmp_path)
    path = write(tmp_path / "failing.toml", FAILING)
    code = cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 1
    last = captured.out.strip().splitlines()[-1]
    assert "5 runs done, 1 failed" in last


# 6. Bad experiment files through the CLI ------------------------------------------

BAD = {
    # name: (file text, words the one error line must contain)
    "missing_scenarios": ("replications = 2\n", ["scenarios", "missing"]),
    "unknown_scenario_file": ('scenarios = ["nowhere.toml"]\n', ["scenarios[0]", "nowhere.toml"]),
    "unknown_sweep_parameter": (
        'scenarios = ["peer_led"]\n[sweep.parameters]\nmembres = [4, 6]\n',
        ["sweep.parameters", "membres", 'did you mean "members"'],
    ),
    "factorial_value_not_a_list": (
        'scenarios = ["peer_led"]\n[sweep.parameters]\nmembers = 4\n',
        ["sweep.parameters.members", "list"],
    ),
    "lhs_without_samples": (
        'scenarios = ["peer_led"]\n[sweep]\nmethod = "lhs"\n'
        "[sweep.parameters]\nmembers = { min = 4, max = 8 }\n",
        ["sweep.samples", "missing"],
    ),
    "unknown_outcome": (
        'scenarios = ["peer_led"]\noutcomes = ["mean_skil"]\n',
        ["outcomes", "mean_skil", 'did you mean "mean_skill"'],
    ),
    "replications_neither_count_nor_until": (
        'scenarios = ["peer_led"]\n[replications]\nmin = 4\nmax = 8\n',
        ["replications", "count", "until"],
    ),
    "malformed_toml": ('scenarios = ["peer_led"\nseed = = 3\n', ["malformed TOML"]),
    "unknown_top_level_key": ('scenarios = ["peer_led"]\nreplicatons = 3\n', ["replicatons"]),
    # found while writing these tests: see the report
    "outcomes_not_a_list": ('scenarios = ["peer_led"]\noutcomes = "mean_skill"\n', ["outcomes"]),
    "outcomes_a_number": ('scenarios = ["peer_led"]\noutcomes = 3\n', ["outcomes"]),
    "range_without_max": (
        'scenarios = ["peer_led"]\n[sweep]\nmethod = "lhs"\nsamples = 4\n'
        "[sweep.parameters]\nmembers = { min = 4 }\n",
        ["sweep.parameters.members", "max"],
    ),
    "factorial_value_out_of_range": (
        'scenarios = ["peer_led"]\n[sweep.parameters]\nmembers = [4.5]\n',
        ["members", "4.5"],
    ),
}
BAD_OPTIONS = {
    "replications_0": (["--replications", "0"], ["--replications"]),
    "workers_0": (["--workers", "0"], ["--workers"]),
    "steps_0": (["--steps", "0"], ["--steps"]),
}


def trustsim(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def cli_in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """main(args) as `python -m sim.cli` runs it: an escaping exception is a traceback."""
    try:
        code = cli.main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
        return code, capsys.readouterr().err
    except Exception:
        return 1, capsys.readouterr().err + traceback.format_exc()
    return code, capsys.readouterr().err


def bad_case(folder: Path, case: str) -> tuple[Path, list[str], list[str]]:
    """The experiment file, the extra options and the words the error line must hold."""
    if case in BAD:
        text, words = BAD[case]
        return write(folder / f"{case}.toml", text), [], words
    args, words = BAD_OPTIONS[case]
    good = 'scenarios = ["peer_led"]\nreplications = 2\nsteps = 3\n'
    return write(folder / "good.toml", good), args, words


def check_one_clear_line(code: int, stderr: str, path: Path, case: str, words: list[str]) -> None:
    assert "Traceback" not in stderr, stderr
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: ")
    if case in BAD:
        assert str(path) in line, line  # names the file
    for word in words:
        assert word in line, (word, line)


@pytest.mark.parametrize("case", list(BAD) + list(BAD_OPTIONS))
def test_bad_experiment_exits_2_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    # sim.cli.main in this process: `python -m sim.cli` is only main() plus ~2 s of
    # imports per case (the real entry point is checked below on a few cases).
    path, args, words = bad_case(tmp_path, case)
    out = tmp_path / "out"
    code, stderr = cli_in_process(["sweep", str(path), "--out", str(out), *args], capsys)
    check_one_clear_line(code, stderr, path, case, words)
    # nothing is left behind to block the next try
    assert not out.exists(), sorted(p.name for p in out.iterdir())


def test_bad_experiment_through_python_m_sim_cli(tmp_path: Path) -> None:
    cases = ["unknown_sweep_parameter", "workers_0"]
    started = {}
    for case in cases:
        path, args, words = bad_case(tmp_path, case)
        proc = trustsim("sweep", str(path), "--out", str(tmp_path / f"out_{case}"), *args)
        started[case] = (path, words, proc)
    for case, (path, words, proc) in started.items():
        _, stderr = proc.communicate(timeout=120)
        check_one_clear_line(proc.returncode, stderr, path, case, words)
        assert not (tmp_path / f"out_{case}").exists()


# 7. The experiments that ship ------------------------------------------------------


def test_the_four_experiments_ship() -> None:
    names = {p.stem for p in EXPERIMENTS}
    assert {"sponsorship_vs_peer", "hierarchy_levels", "regime_map", "breach_recovery"} <= names


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_experiment_file_runs_at_a_tiny_size(tmp_path: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a comment header: the question it asks"
    assert "?" in text.split("\n\n")[0], "the header asks a question"
    raw = tomllib.loads(text)
    exp = load_experiment(path)
    trust = exp.model == "trust"
    samples = 4 if exp.sensitivity is not None else None  # the smallest design of each kind
    if samples is not None:
        assert exp.sensitivity is not None
        exp = exp.model_copy(
            update={"sensitivity": exp.sensitivity.model_copy(update={"samples": samples})}
        )
    points = len(expand(exp, range(1))) // len(exp.scenarios)
    out = tmp_path / exp.name
    report = run(
        path,
        out=out,
        replications=2,
        steps=5 if trust else None,
        samples=samples,
        workers=1,
        progress=False,
    )
    expected = len(exp.scenarios) * points * 2
    assert (report.done, report.failed) == (expected, 0)
    runs = report.tables["runs"]
    assert len(runs) == expected
    assert runs["run_id"].is_unique
    assert (runs["status"] == "done").all()
    if trust:
        assert (runs["steps"] == 5).all()
    assert len(report.tables["summaries"]) == expected

    text = write_comparison(out)
    csv = (out / "compare.csv").read_text(encoding="utf-8")
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert text == md
    names = [s.name for s in exp.scenarios]
    assert len(names) == len(raw.get("scenarios", [exp.model]))
    for name in names:
        assert name in csv, name
        assert name in md, name
    for outcome in exp.outcomes:
        assert outcome in csv, outcome


def test_ci_half_width_matches_the_normal_formula() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert ci_half_width(values) == pytest.approx(1.96 * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert ci_half_width(np.array([1.0])) == float("inf")


def test_another_model_without_outcomes_is_compared_on_its_own_outcome(tmp_path: Path) -> None:
    path = tmp_path / "march.toml"
    path.write_text(
        '# March, briefly?\nmodel = "march1991"\nreplications = 2\n'
        "[sweep]\n[sweep.parameters]\np1 = [0.1, 0.9]\n",
        encoding="utf-8",
    )
    assert load_experiment(path).outcomes == ("code_knowledge",)
    out = tmp_path / "out"
    report = run(path, out=out, workers=1, progress=False)
    assert report.done == 4
    text = write_comparison(out)
    assert "code_knowledge" in text
    assert "mean_skill" not in text


def test_batches_hold_short_runs_together_and_long_runs_alone(tmp_path: Path) -> None:
    from sim.experiments.executors import BATCH_WORK, _work, batches

    text = 'scenarios = ["peer_led"]\nreplications = 1000\nseed = 1\noutcomes = ["mean_skill"]\n'
    short = expand(load_experiment(write(tmp_path / "short.toml", text)), range(1000))
    long = expand(
        load_experiment(
            write(tmp_path / "long.toml", text + "[sweep.parameters]\nmembers = [2000]\n")
        ),
        range(5),
    )
    specs = short + long
    batches = list(batches(specs, workers=2))
    assert [s for b in batches for s in b] == specs  # every run once, in order
    assert max(len(b) for b in batches) == 64  # short runs: 64 to a batch, not 16
    assert all(sum(_work(s) for s in b) <= BATCH_WORK for b in batches if len(b) > 1)
    assert [len(b) for b in batches[-5:]] == [1] * 5  # a 2000-member run goes alone


def test_parameters_set_every_scenario_and_clash_with_a_sweep_is_refused(tmp_path: Path) -> None:
    from sim.model.scenario import ScenarioError

    text = (
        'scenarios = ["peer_led", "top_down_internal"]\nreplications = 2\nseed = 1\n'
        'outcomes = ["mean_skill"]\n[parameters]\nmembers = 24\nlevels = 2\n'
    )
    specs = expand(load_experiment(write(tmp_path / "fixed.toml", text)), range(2))
    assert {(s.scenario.name, s.scenario.members, s.scenario.levels) for s in specs} == {
        ("peer_led", 24, 2),
        ("top_down_internal", 24, 2),
    }
    assert {s.scenario.coach for s in specs} == {"none", "internal"}  # the rest stays theirs
    clash = write(tmp_path / "clash.toml", text + "[sweep.parameters]\nlevels = [1, 3]\n")
    with pytest.raises(ScenarioError, match=r"parameters.levels is also varied by \[sweep\]"):
        load_experiment(clash)
    typo = write(tmp_path / "typo.toml", text.replace("levels = 2", "lvels = 2"))
    with pytest.raises(ScenarioError, match="unknown parameter 'lvels'"):
        load_experiment(typo)


@pytest.mark.slow
def test_a_dask_scheduler_without_workers_is_named_and_waited_for(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    distributed = pytest.importorskip("distributed")
    from sim.experiments import executors

    monkeypatch.setattr(executors, "WORKER_WAIT", 0.5)
    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        waiting = threading.Thread(target=executors.wait_for_workers, args=(client,))
        waiting.start()
        waiting.join(timeout=3)
        assert waiting.is_alive()  # no worker: it waits on ...
        assert "has no worker after 0.5 s; waiting for one" in capfd.readouterr().err
        cluster.scale(1)  # ... until one joins
        waiting.join(timeout=30)
        assert not waiting.is_alive()


def test_a_store_without_a_run_of_the_reference_says_how_to_go_on(tmp_path: Path) -> None:
    from sim.experiments.compare import load_results
    from sim.experiments.store import ResultsStore
    from sim.model.scenario import ScenarioError

    text = (
        'scenarios = ["peer_led", "no_coaching"]\nreference = "no_coaching"\nreplications = 2\n'
        'seed = 1\nsteps = 4\noutcomes = ["mean_skill"]\n'
    )
    out = tmp_path / "out"
    run(write(tmp_path / "ref.toml", text), out=out, workers=1, progress=False)
    store = ResultsStore(out)  # as if Ctrl-C came before the reference's first run
    with store.db:
        for table in ("runs", "summaries", "step_arrays"):
            store.db.execute(f"DELETE FROM {table} WHERE run_id LIKE 'no_coaching/%'")
    store.close()
    with pytest.raises(ScenarioError) as err:
        load_results(out)
    (line,) = err.value.lines
    assert "reference 'no_coaching' has no finished run yet" in line
    assert f"--out {out} --resume` runs the rest" in line
