"""The results store: written run by run, survives kill -9, resumes without duplicates, exports."""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers_cli import SMALL_EXPERIMENT, trustsim

from sim import cli
from sim.experiments import ResultsStore, expand, load_experiment, run
from sim.experiments.store import DB_NAME
from sim.model.measures import MEASURES, SUMMARY_KEYS
from sim.model.scenario import Scenario, preset

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_only(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True, timeout=5)


def stored_steps(db: sqlite3.Connection) -> list[tuple[str, int]]:
    """(run_id, step) of every stored per-step row, decoded from the store's blocks."""
    width = int(db.execute("SELECT count(*) FROM step_columns").fetchone()[0])
    out = []
    for run_id, data in db.execute("SELECT run_id, data FROM step_arrays"):
        block = np.frombuffer(data, dtype=np.float64).reshape(-1, width)
        out.extend((run_id, int(step)) for step in block[:, 0])
    return out


def stored_count(folder: Path) -> int:
    """Runs stored so far, read as another process would (0 before the store exists)."""
    if not (folder / DB_NAME).exists():
        return 0
    try:
        db = read_only(folder)
        try:
            return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet, or busy
        return 0


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under a folder with the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# The kill -9 test -------------------------------------------------------------------

KILL = """
# Two regimes at 12 members for two years, many replications: long enough to kill.
scenarios = ["peer_led", "no_coaching"]
replications = 200
seed = 99
steps = 104
keep_steps = 8
outcomes = ["mean_skill"]
"""


@pytest.mark.slow
def test_kill_9_then_resume_gives_exactly_the_expected_runs(tmp_path: Path) -> None:
    path = write(tmp_path / "kill.toml", KILL)
    out = tmp_path / "out"
    expected = {s.run_id for s in expand(load_experiment(path), range(200))}
    assert len(expected) == 400

    command = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--out", str(out)]
    proc = subprocess.Popen(
        [*command, "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        count = 0
        while time.monotonic() < deadline and proc.poll() is None:
            count = stored_count(out)
            if count > 0:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be killed: make it longer"
        assert 0 < count < len(expected), count
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    killed_at = stored_count(out)
    assert 0 < killed_at < len(expected), killed_at

    resumed = trustsim("sweep", str(path), "--out", str(out), "--workers", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    last = resumed.stdout.strip().splitlines()[-1]
    assert f"{len(expected) - killed_at} runs done, 0 failed" in last, last
    assert f"{killed_at} already stored" in last, last

    db = read_only(out)
    try:
        ids = [r[0] for r in db.execute("SELECT run_id FROM runs")]
        total, distinct = db.execute("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchone()
        statuses = {r[0] for r in db.execute("SELECT DISTINCT status FROM runs")}
        summaries = db.execute("SELECT count(*), count(DISTINCT run_id) FROM summaries").fetchone()
        rows = stored_steps(db)
        steps = (len(rows), len(set(rows)))
        step_runs = {run_id for run_id, _ in rows}
        per_run = set(collections.Counter(run_id for run_id, _ in rows).values())
    finally:
        db.close()
    assert set(ids) == expected
    assert total == distinct == len(expected)
    assert statuses == {"done"}
    assert summaries == (len(expected), len(expected))
    assert steps[0] == steps[1]
    assert step_runs == expected
    assert per_run == {len(range(0, 105, 8))}  # every 8th step, 0 to 104 (the last)

    # the manifest says how it ended
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["ended"] is not None
    assert manifest["runs_failed"] == 0

    # without --resume: exit 2, one clear line, and the store is left untouched
    before = snapshot(out)
    assert DB_NAME in before
    again = trustsim("sweep", str(path), "--out", str(out), "--workers", "1")
    assert again.returncode == 2
    assert "Traceback" not in again.stderr
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(out) in lines[0]
    assert "--resume" in lines[0]
    assert snapshot(out) == before
    assert stored_count(out) == len(expected)


# Resume, in process ---------------------------------------------------------------

SMALL = """
scenarios = ["peer_led", "no_coaching"]
replications = {replications}
seed = 3
steps = 6
keep_steps = 2
"""


def test_resume_of_a_finished_store_runs_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=3))
    first = run(path, out=tmp_path / "out", workers=1, progress=False)
    again = run(path, out=tmp_path / "out", workers=1, resume=True, progress=False)
    assert (first.done, again.done, again.skipped) == (6, 0, 6)
    for name in ("runs", "summaries"):
        assert len(again.tables[name]) == 6
        assert again.tables[name]["run_id"].is_unique
    pd.testing.assert_frame_equal(first.tables["steps"], again.tables["steps"])


def test_resume_refuses_a_changed_experiment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=2))
    run(path, out=tmp_path / "out", workers=1, progress=False)
    write(path, SMALL.format(replications=2).replace("seed = 3", "seed = 4"))
    code = cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--resume"])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot resume" in err
    assert len(err.strip().splitlines()) == 1
    assert stored_count(tmp_path / "out") == 4


def test_resume_refuses_a_store_whose_runs_recorded_other_measures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from sim.experiments import adapters

    path = write(tmp_path / "small.toml", SMALL.format(replications=2))
    run(path, out=tmp_path / "out", workers=1, progress=False)
    # A later trustsim that records one measure more: its runs would not fit these.
    trust = adapters.KINDS["trust"]
    newer = dataclasses.replace(trust, measures=(*trust.measures, "ask_rate"))
    monkeypatch.setitem(adapters.KINDS, "trust", newer)
    code = cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--resume"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "stored with other measures than this trustsim records (new: ask_rate)" in err
    assert "sweep into a new folder" in err
    assert stored_count(tmp_path / "out") == 4  # what was stored stays stored
    monkeypatch.setitem(adapters.KINDS, "trust", trust)
    again = run(path, out=tmp_path / "out", workers=1, resume=True, progress=False)
    assert (again.done, again.skipped) == (0, 4)  # the same trustsim resumes as before


def test_resume_after_changing_only_the_analysis_runs_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=2))
    run(path, out=tmp_path / "out", workers=1, progress=False)
    write(path, SMALL.format(replications=2) + 'outcomes = ["mean_skill"]\n# a new comment\n')
    again = run(path, out=tmp_path / "out", workers=1, resume=True, progress=False)
    assert (again.done, again.skipped) == (0, 4)


def test_resume_with_more_replications_runs_only_the_new_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=2))
    first = run(path, out=tmp_path / "out", workers=1, progress=False)
    write(path, SMALL.format(replications=3))
    more = run(path, out=tmp_path / "out", workers=1, resume=True, progress=False)
    assert (more.done, more.skipped) == (2, 4)
    assert sorted(more.tables["runs"]["replication"]) == [0, 0, 1, 1, 2, 2]
    # the first runs are untouched, and the new ones are what a fresh sweep of 3 gives
    fresh = run(path, out=tmp_path / "fresh", workers=1, progress=False)
    key = ["run_id", "step"]
    old = first.tables["steps"].set_index(key)
    pd.testing.assert_frame_equal(more.tables["steps"].set_index(key).loc[old.index], old)
    pd.testing.assert_frame_equal(
        more.tables["steps"].sort_values(key).reset_index(drop=True),
        fresh.tables["steps"].sort_values(key).reset_index(drop=True),
    )


def test_resume_of_a_store_written_before_plans_named_their_parts(tmp_path: Path) -> None:
    # Manifests written before 2026-11-29 held the experiment file's hash in the plan.
    path = write(tmp_path / "small.toml", SMALL.format(replications=2))
    run(path, out=tmp_path / "out", workers=1, steps=4, progress=False)
    manifest_path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["plan"] = {
        "experiment": "small",
        "experiment_hash": hashlib.sha256(path.read_bytes()).hexdigest(),
        "scenarios": [s.digest() for s in load_experiment(path).scenarios],
        "replications_override": None,
        "steps_override": 4,
        "keep_steps": 2,
    }
    del manifest["overrides"]

    def resume(*options: str) -> int:
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
        return cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--resume", *options])

    assert resume("--steps", "4", "--no-report") == 0  # the same file and options
    assert stored_count(tmp_path / "out") == 4
    assert resume() == 2  # without --steps 4 the runs would be 6 weeks long
    write(path, SMALL.format(replications=2).replace("seed = 3", "seed = 4"))
    assert resume("--steps", "4") == 2
    assert stored_count(tmp_path / "out") == 4


SWEPT = """
scenarios = ["peer_led", "no_coaching"]
replications = 2
seed = 3
steps = 4
keep_steps = 2
outcomes = ["mean_skill"]

[sweep]
method = "factorial"

[sweep.parameters]
management_trust_scale = [0.2, 1.0]
propensity_mean = [0.3, 0.7]
"""

PEER = 'preset = "peer_led"\n'


@pytest.mark.parametrize(
    ("edit", "refused"),
    [
        # the same runs: resume
        (lambda t: t.replace('"peer_led", "no_coaching"', '"no_coaching", "peer_led"'), None),
        (lambda t: t.replace('outcomes = ["mean_skill"]', 'outcomes = ["silence_rate"]'), None),
        (lambda t: t.replace("steps = 4\n", "steps = 4\n# the horizon stays\n"), None),
        (lambda t: t.replace('"no_coaching"]', '"no_coaching", "hybrid"]'), None),  # more
        (lambda t: t.replace("[0.2, 1.0]", "[0.2, 1.0, 0.6]"), None),  # more points, after
        (lambda t: t.replace("[0.2, 1.0]", "[0.2, 1]"), None),  # the same value
        # other runs under the same ids: refuse, naming what changed
        (
            lambda t: t.replace(
                "management_trust_scale = [0.2, 1.0]\npropensity_mean = [0.3, 0.7]",
                "propensity_mean = [0.3, 0.7]\nmanagement_trust_scale = [0.2, 1.0]",
            ),
            "scenario peer_led runs with other parameters at 2 of its stored points",
        ),
        (lambda t: t.replace("[0.3, 0.7]", "[0.3, 0.8]"), "runs with other parameters at 2 of"),
        (lambda t: t.replace("seed = 3", "seed = 4"), "seed 3 before, 4 now"),
        (lambda t: t.replace("steps = 4", "steps = 5"), "scenario peer_led runs with other"),
        (lambda t: t.replace("keep_steps = 2", "keep_steps = 1"), "keep_steps 2 before, 1 now"),
        (lambda t: t.replace(', "no_coaching"', ""), "no_coaching is not run at 4 of its stored"),
    ],
)
def test_resume_refuses_exactly_when_the_stored_runs_would_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, refused: str | None
) -> None:
    path = write(tmp_path / "swept.toml", SWEPT)
    out = tmp_path / "out"
    run(path, out=out, workers=1, progress=False)
    write(path, edit(SWEPT))
    code = cli.main(["sweep", str(path), "--out", str(out), "--resume", "--no-report"])
    err = capsys.readouterr().err
    if refused is None:
        assert code == 0, err
        return
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "cannot resume" in err
    assert refused in err
    assert stored_count(out) == 16


def test_resume_refuses_a_renamed_scenario_and_says_how_it_was_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "peer.toml", PEER)
    path = write(tmp_path / "swept.toml", SWEPT.replace('"peer_led"', '"peer.toml"'))
    out = tmp_path / "out"
    run(path, out=out, workers=1, steps=3, progress=False)
    (tmp_path / "peer.toml").rename(tmp_path / "colleagues.toml")
    write(path, SWEPT.replace('"peer_led"', '"colleagues.toml"'))
    code = cli.main(["sweep", str(path), "--out", str(out), "--resume", "--steps", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "scenario peer is not run at 4 of its stored points" in err
    assert "they were run with --steps 3" in err


def test_resume_without_a_manifest_refuses_unless_nothing_was_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=1))
    out = tmp_path / "out"
    ResultsStore(out).close()  # killed after creating the store, before any run
    assert cli.main(["sweep", str(path), "--out", str(out), "--resume", "--no-report"]) == 0
    (out / "manifest.json").unlink()
    assert cli.main(["sweep", str(path), "--out", str(out), "--resume"]) == 2
    assert "manifest.json, which records how these results were run, is missing" in (
        capsys.readouterr().err
    )


def test_resume_at_another_commit_says_the_store_holds_runs_of_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=1))
    out = tmp_path / "out"
    run(path, out=out, workers=1, progress=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["git_commit"] = "0123abc"
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert cli.main(["sweep", str(path), "--out", str(out), "--resume", "--no-report"]) == 0
    assert "these results were started at commit 0123abc" in capsys.readouterr().err


def test_steps_set_and_swept_at_once_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    swept = SWEPT.replace("propensity_mean = [0.3, 0.7]", "steps = [3, 5]")
    path = write(tmp_path / "swept.toml", swept)
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "a")]) == 2
    assert "steps = 4 and [sweep] varies steps" in capsys.readouterr().err
    write(path, swept.replace("steps = 4\n", ""))
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "b"), "--steps", "9"]) == 2
    assert "--steps 9:" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_resume_with_fewer_replications_says_the_store_holds_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=3))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--replications", "2"]) == 0
    capsys.readouterr()
    write(path, SMALL.format(replications=1))
    assert cli.main(["sweep", str(path), "--out", str(out), "--resume", "--no-report"]) == 0
    err = capsys.readouterr().err
    assert "the earlier sweep here ran --replications 2; this one ran the file's" in err
    assert "the store also holds 2 runs beyond this experiment's 1 replications" in err


def test_the_manifest_and_report_give_the_command_with_its_overrides(tmp_path: Path) -> None:
    path = write(tmp_path / "small.toml", SMALL.format(replications=5))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--replications", "2"]) == 0
    command = f"trustsim sweep {path} --replications 2"
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["command"] == command
    assert f"command: {command}" in (out / "report.md").read_text(encoding="utf-8")


# Export -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    path = write(folder / "small.toml", SMALL.format(replications=4))
    report = run(path, out=folder / "out", workers=1, progress=False)
    assert report.done == 8
    return folder / "out"


def stored_rows(folder: Path) -> dict[str, int]:
    db = read_only(folder)
    try:
        counts = {
            name: int(db.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in ("runs", "summaries")
        }
        return {**counts, "steps": len(stored_steps(db))}
    finally:
        db.close()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_table_with_the_stored_row_counts(
    small_results: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / fmt
    result = trustsim("export", str(small_results), "--format", fmt, "--out", str(out))
    assert result.returncode == 0, result.stderr
    counts = stored_rows(small_results)
    assert counts == {"runs": 8, "summaries": 8, "steps": 8 * 4}  # steps 0, 2, 4, 6
    for name, n in counts.items():
        target = out / f"{name}.{fmt}"
        assert target.exists(), target
        frame = pd.read_csv(target) if fmt == "csv" else pd.read_parquet(target)
        assert len(frame) == n, name
        assert f"{name}.{fmt} ({n} rows)" in result.stdout
    runs = pd.read_csv(out / "runs.csv") if fmt == "csv" else pd.read_parquet(out / "runs.parquet")
    assert {"run_id", "scenario", "seed", "status", "members"} <= set(runs.columns)
    summaries = (
        pd.read_csv(out / "summaries.csv")
        if fmt == "csv"
        else pd.read_parquet(out / "summaries.parquet")
    )
    assert set(SUMMARY_KEYS) <= set(summaries.columns)


def test_export_defaults_to_parquet_beside_the_store(
    small_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["export", str(small_results)]) == 0
    capsys.readouterr()
    assert len(pd.read_parquet(small_results / "export" / "runs.parquet")) == 8


def test_export_of_a_folder_without_a_store_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["export", str(tmp_path), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert str(tmp_path) in err
    assert not (tmp_path / "export").exists()


# The store itself -----------------------------------------------------------------


def result(run_id: str, status: str = "done", value: float = 0.5) -> dict[str, object]:
    done = status == "done"
    return {
        "run_id": run_id,
        "scenario": "s",
        "scenario_hash": "h",
        "point": 0,
        "swept": {"members": 4},
        "replication": 0,
        "seed": 123,
        "parameters": {"members": 4, "trust_gain": 0.1},
        "status": status,
        "error": None if done else "Traceback ...\nValueError: boom",
        "summary": {"mean_skill": value, "time_to_competence": math.nan} if done else None,
        "steps": [(0, *[value] * len(MEASURES)), (1, *[math.nan] * len(MEASURES))]
        if done
        else None,
        "wall_time": 0.01,
    }


def test_store_is_wal_and_round_trips_a_run(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    try:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.write(result("a"))
        runs = store.table("runs")
        summaries = store.table("summaries")
        steps = store.table("steps")
    finally:
        store.close()
    assert ResultsStore.exists(tmp_path)
    row = runs.iloc[0]
    assert (row["run_id"], row["status"], row["seed"], row["members"]) == ("a", "done", 123, 4)
    assert json.loads(row["swept"]) == {"members": 4}
    assert summaries.loc[0, "mean_skill"] == 0.5
    assert math.isnan(summaries.loc[0, "time_to_competence"])  # NaN stored as NULL, read as NaN
    assert list(steps["step"]) == [0, 1]
    assert steps[MEASURES[0]].iloc[0] == 0.5
    assert math.isnan(steps[MEASURES[0]].iloc[1])


def test_store_replaces_an_earlier_try_of_a_run(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    try:
        store.write(result("a", status="failed"))
        assert store.finished() == {"a": "failed"}
        assert len(store.table("summaries")) == 0
        store.write(result("a", value=0.7))
        store.write(result("a", value=0.8))
        assert store.finished() == {"a": "done"}
        assert len(store.table("runs")) == 1
        assert store.table("summaries")["mean_skill"].tolist() == [0.8]
        assert len(store.table("steps")) == 2
        assert len(store.results()) == 1
        with pytest.raises(ValueError, match="no table"):
            store.table("runs; DROP TABLE runs")
    finally:
        store.close()


def test_store_survives_reopening(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.write(result("a"))
    store.write(result("b", status="failed"))
    store.close()
    again = ResultsStore(tmp_path)
    try:
        assert again.finished() == {"a": "done", "b": "failed"}
        assert list(again.results()["run_id"]) == ["a"]
    finally:
        again.close()


def _processes_naming(text: str) -> list[int]:
    """Pids of live processes whose command line holds `text` (Linux /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:  # gone meanwhile
            continue
    return [pid for pid in found if pid != os.getpid()]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_kill_9_of_a_two_worker_sweep_leaves_no_worker_behind(tmp_path: Path) -> None:
    # Two workers get through KILL's 400 runs in a third of a second: ten times as many.
    path = write(tmp_path / "kill.toml", KILL.replace("replications = 200", "replications = 2000"))
    out = tmp_path / "two_workers"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "sweep", str(path), "--out", str(out), "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and stored_count(out) == 0 and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert len(_processes_naming(str(out))) >= 3  # the runner and its two workers
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_naming(str(out)):
        time.sleep(0.1)
    assert _processes_naming(str(out)) == []  # the workers died with the runner


def _result(run_id: str, steps: Any) -> dict[str, Any]:
    return {"run_id": run_id, "scenario": "s", "status": "done", "summary": {}, "steps": steps}


def test_steps_are_stored_as_blocks_and_read_back_tidy(tmp_path: Path) -> None:
    rows = np.array([[0, *range(len(MEASURES))], [4, *range(len(MEASURES))]], dtype=float)
    rows[1, 1 + MEASURES.index("trust_in_coach")] = math.nan
    store = ResultsStore(tmp_path)
    store.write_many([_result("a/p0/r0", rows), _result("a/p0/r1", rows[:1].tolist())])
    steps = store.table("steps")
    store.close()
    assert list(steps.columns) == ["run_id", "step", *MEASURES]
    assert steps["run_id"].tolist() == ["a/p0/r0", "a/p0/r0", "a/p0/r1"]
    assert steps["step"].tolist() == [0, 4, 0]
    assert steps["step"].dtype == np.int64
    assert math.isnan(steps["trust_in_coach"].iloc[1])
    assert steps["mean_skill"].tolist() == [MEASURES.index("mean_skill")] * 3
    db = read_only(tmp_path)
    try:
        assert db.execute("SELECT count(*) FROM step_arrays").fetchone()[0] == 2
    finally:
        db.close()


def test_a_store_with_one_row_per_step_is_read_and_extended_as_it_is(tmp_path: Path) -> None:
    """Stores written before 2026-12-02 keep their steps table: resume adds rows to it."""
    db = sqlite3.connect(tmp_path / DB_NAME)
    columns = "".join(f', "{m}" REAL' for m in MEASURES)
    db.execute(
        f"CREATE TABLE steps (run_id TEXT, step INTEGER{columns}, PRIMARY KEY (run_id, step))"
    )
    db.execute(
        f"INSERT INTO steps VALUES ('old/p0/r0', 0{', 0.5' * len(MEASURES)})",
    )
    db.commit()
    db.close()
    store = ResultsStore(tmp_path)
    assert store.step_rows
    block = np.array([[0, *[0.25] * len(MEASURES)], [2, *[0.75] * len(MEASURES)]])
    store.write_many([_result("new/p0/r0", block)])
    steps = store.table("steps")
    store.close()
    assert steps["run_id"].tolist() == ["old/p0/r0", "new/p0/r0", "new/p0/r0"]
    assert steps["step"].tolist() == [0, 0, 2]
    assert steps["mean_trust"].tolist() == [0.5, 0.25, 0.75]
    db = read_only(tmp_path)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    assert "step_arrays" not in tables


def test_store_digest_changes_with_every_run_written_and_only_then(tmp_path: Path) -> None:
    assert ResultsStore.digest(tmp_path) == ""  # no store
    store = ResultsStore(tmp_path / "a")
    try:
        digests = [ResultsStore.digest(tmp_path / "a")]
        store.write(result("a"))
        digests.append(ResultsStore.digest(tmp_path / "a"))
        assert ResultsStore.digest(tmp_path / "a") == digests[-1], "reading changes nothing"
        store.write(result("b", status="failed"))
        digests.append(ResultsStore.digest(tmp_path / "a"))
        store.write({**result("b"), "wall_time": 0.02})  # the failed run, run again
        digests.append(ResultsStore.digest(tmp_path / "a"))
    finally:
        store.close()
    assert len(set(digests)) == len(digests)
    db = sqlite3.connect(tmp_path / "a" / DB_NAME)
    with db:
        db.execute("DELETE FROM step_arrays WHERE run_id = 'a'")
    db.close()
    assert ResultsStore.digest(tmp_path / "a") not in digests, "a run's steps removed"
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    assert ResultsStore.digest(tmp_path / "copy") == ResultsStore.digest(tmp_path / "a")


def test_rows_an_older_trustsim_added_beside_the_step_blocks_are_read_too(tmp_path: Path) -> None:
    """An older trustsim opening a store with step blocks creates its steps table there."""
    block = np.array([[0, *[0.25] * len(MEASURES)], [2, *[0.75] * len(MEASURES)]])
    store = ResultsStore(tmp_path)
    store.write_many([_result("new/p0/r0", block)])
    store.close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    columns = "".join(f', "{m}" REAL' for m in MEASURES)
    db.execute(f"CREATE TABLE steps (run_id TEXT, step INTEGER{columns})")
    db.commit()
    again = ResultsStore(tmp_path)
    assert not again.step_rows
    assert again.table("steps")["run_id"].tolist() == ["new/p0/r0"] * 2  # empty table: ignored
    db.execute(f"INSERT INTO steps VALUES ('old/p0/r0', 0{', 0.5' * len(MEASURES)})")
    db.commit()
    db.close()
    steps = again.table("steps")
    again.close()
    assert sorted(steps["run_id"]) == ["new/p0/r0", "new/p0/r0", "old/p0/r0"]
    assert steps["step"].dtype == np.int64


def test_a_run_stored_before_a_parameter_existed_is_rebuilt_with_its_default(
    tmp_path: Path,
) -> None:
    """Stores written before survey_loading and survey_bias still draw their reports."""
    from sim.experiments.store import scenario_of_run

    exp = tmp_path / "exp.toml"
    exp.write_text(SMALL_EXPERIMENT, encoding="utf-8")
    run(exp, out=tmp_path / "out", workers=1, progress=False)
    db = sqlite3.connect(tmp_path / "out" / DB_NAME)
    db.execute("ALTER TABLE runs DROP COLUMN survey_loading")
    db.execute("ALTER TABLE runs DROP COLUMN survey_bias")
    db.commit()
    db.close()
    runs = ResultsStore(tmp_path / "out", readonly=True).table("runs")
    assert "survey_loading" not in runs.columns
    rebuilt = scenario_of_run(runs.iloc[0])
    assert rebuilt.survey_loading == Scenario().survey_loading
    assert rebuilt.digest() == preset(str(runs.iloc[0]["scenario"]), steps=6).digest()
