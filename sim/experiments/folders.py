"""An experiment's results folder: its manifest, its lock, and what a resume may keep.

The manifest records the experiment's plan (its text, the overrides, the commit and
versions); a resume compares the plan with the stored one and refuses changes that
would mix runs of two questions. One sweep at a time holds a folder's lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiments.expansion import ci_half_width, expand
from sim.experiments.spec import Experiment
from sim.experiments.store import (
    HELD,
    LOCK_NAME,
    ResultsStore,
    read_manifest,
)
from sim.model.scenario import ScenarioError


@functools.cache
def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in ("trustsim", "mesa", "numpy", "scipy", "pandas", "numba", "pydantic", "distributed"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[lib] = metadata.version(lib)
    return out


def git_commit() -> str | None:
    """The checkout's commit, or None outside a git checkout."""
    root = Path(__file__).resolve().parent.parent.parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    commit = done.stdout.strip()
    if done.returncode != 0 or not commit:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return commit + ("-dirty" if dirty else "")


def plan_of(exp: Experiment) -> dict[str, Any]:
    """What decides which runs exist and what each computes: resuming needs the same plan.

    A run's id is its scenario's name, its point's number and its replication, and its
    seed comes from the experiment's seed and the replication. So the plan holds, for
    each scenario and point, the digest of the setup its runs use (the point and the
    horizon applied), with the seed and the kept steps. Not in it: the replication
    count (resuming with more extends a sweep), the order of the scenarios, and what
    only the analysis reads (outcomes, reference, the question, the sensitivity
    outcomes and resamples, the validation section).
    """
    plan: dict[str, Any] = {
        "model": exp.model,
        "seed": exp.seed,
        "setups": {
            s.run_id.removesuffix("/r0"): s.scenario.digest() for s in expand(exp, range(1))
        },
    }
    if exp.kind.measures:  # a model that keeps no steps runs the same whatever keep_steps
        plan["keep_steps"] = exp.keep_steps
    if exp.keep_teams:
        plan["keep_teams"] = True
    if exp.define:  # what a run computes besides the model's own outcomes
        plan["define"] = {n: d.model_dump(by_alias=True) for n, d in exp.define.items()}
    return plan


def _plan_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in the plan changed such that stored runs would differ from fresh ones.

    New scenarios or points only add runs, so they are no change.
    """
    unset = {"keep_teams": False}  # in a plan only when set (plans before it lack it)
    changed = [
        f"{key} {old.get(key, unset.get(key))} before, {new.get(key, unset.get(key))} now"
        for key in ("model", "seed", "keep_steps", "keep_teams", "define")
        if old.get(key, unset.get(key)) != new.get(key, unset.get(key))
    ]
    gone: dict[str, int] = {}
    other: dict[str, int] = {}
    for setup, digest in (old.get("setups") or {}).items():
        scenario = setup.rsplit("/p", 1)[0]
        if setup not in new["setups"]:
            gone[scenario] = gone.get(scenario, 0) + 1
        elif new["setups"][setup] != digest:
            other[scenario] = other.get(scenario, 0) + 1
    changed += [
        f"scenario {name} is not run at {n} of its stored points" for name, n in gone.items()
    ]
    changed += [
        f"scenario {name} runs with other parameters at {n} of its stored points"
        for name, n in other.items()
    ]
    return changed


def command_line(exp: Experiment, overrides: dict[str, int | None]) -> str:
    """The command line that runs this experiment again (the store's folder aside)."""
    verb = "sensitivity" if exp.sensitivity is not None else "sweep"
    flags = "".join(f" --{k} {v}" for k, v in overrides.items() if v is not None)
    return f"trustsim {verb} {exp.path or '<experiment built in Python>'}{flags}"


def write_manifest(
    folder: Path,
    exp: Experiment,
    plan: dict[str, Any],
    overrides: dict[str, int | None],
    started: str,
    ended: str | None,
    counts: tuple[int, int] | None,
    commit: str | None,
) -> None:
    """Write the folder's manifest.json (atomically): the plan, its provenance and counts."""
    manifest = {
        "experiment": exp.name,
        "model": exp.model,
        "question": exp.question,
        "scenarios": [s.name for s in exp.scenarios],
        "experiment_file": exp.path,
        "experiment_sha256": exp.text_hash(),
        "experiment_text": Path(exp.path).read_text(encoding="utf-8") if exp.path else None,
        "plan": plan,
        "plan_hash": hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest(),
        "overrides": overrides,  # from the command line, over the file
        "command": command_line(exp, overrides),
        "seed": exp.seed,
        "outcomes": list(exp.outcomes),  # as resolved: a file may leave them to the model
        "git_commit": commit,
        "versions": _versions(),
        "platform": platform.platform(),
        "started": started,
        "ended": ended,
        "runs_done": counts[0] if counts else None,
        "runs_failed": counts[1] if counts else None,
    }
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / "manifest.json")


def _lock_holder(text: str) -> dict[str, Any]:
    """Who wrote a lock file (pid, host, command, started); {} when it is not ours."""
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return holder if isinstance(holder, dict) else {}


class FolderLock:
    """One sweep at a time writes a results folder (fcntl.flock on its .lock file).

    The kernel lets the lock go when its process ends, however it ends, so a lock file
    left by a killed sweep still names it but locks nothing: the next sweep takes it
    over and says so. A clean end empties the file.
    """

    def __init__(self, folder: Path, command: str) -> None:
        self.folder = folder
        self.created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / LOCK_NAME
        self.file = self.path.open("a+", encoding="utf-8")
        self.file.seek(0)
        before = self.file.read().strip()
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            holder = _lock_holder(before)
            who = (
                f"`{holder.get('command')}` (pid {holder.get('pid')} on "
                f"{holder.get('host')}, started {holder.get('started')})"
                if holder
                else "another sweep"
            )
            raise ScenarioError(
                [
                    f"{folder}: {who} is writing these results now; wait for it to end, "
                    "or choose another --out"
                ]
            ) from None
        self.notes = []
        if before:
            holder = _lock_holder(before)
            self.notes.append(
                f"{folder}: the sweep that wrote here before (pid {holder.get('pid')}, "
                f"started {holder.get('started')}) was stopped without ending; its lock "
                "was left behind, and this sweep took it over"
            )
        mine = {
            "pid": os.getpid(),
            "host": platform.node(),
            "command": command,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self.file.seek(0)
        self.file.truncate()
        self.file.write(json.dumps(mine) + "\n")
        self.file.flush()
        HELD.add(folder.resolve())

    def release(self, keep_folder: bool = True) -> None:
        """Let the folder go (and remove it when this sweep made it and wrote nothing)."""
        HELD.discard(self.folder.resolve())
        self.file.seek(0)
        self.file.truncate()
        self.file.close()  # closing the file releases the lock
        if (
            not keep_folder
            and self.created
            and [p.name for p in self.folder.iterdir()] == [LOCK_NAME]
        ):
            self.path.unlink()
            self.folder.rmdir()


def results_folder(exp: Experiment, out: str | Path | None = None) -> Path:
    """Where a sweep stores its results: `out`, or results/<experiment name>."""
    return Path(out) if out is not None else Path("results") / exp.name


def check_resume(
    folder: Path,
    plan: dict[str, Any],
    exp: Experiment,
    overrides: dict[str, int | None],
    resume: bool,
    commit: str | None,
) -> list[str]:
    """Refuse to add to a store whose runs this experiment would not compute; return notes.

    Raises:
        ScenarioError: the folder holds results and resume is off, or the runs differ.
    """
    if not ResultsStore.exists(folder):
        return []
    if not resume:
        raise ScenarioError(
            [
                f"{folder}: already holds results; add --resume to run only what "
                "is missing, or choose another --out"
            ]
        )
    manifest = read_manifest(folder)  # run() has checked the store and it before the lock
    old = manifest.get("plan")
    if old is None and manifest:
        raise ScenarioError(
            [
                f"{folder}: cannot resume: manifest.json holds no record of how these results "
                "were run (edited, or not written by trustsim); use another --out"
            ]
        )
    if old is None:
        if not ResultsStore.stored_runs(folder):
            return []  # killed before its first run: nothing to mix with
        raise ScenarioError(
            [
                f"{folder}: cannot resume: manifest.json, which records how these results "
                "were run, is missing; use another --out"
            ]
        )
    if "setups" not in old and "experiment_hash" not in old:
        raise ScenarioError(
            [
                f"{folder}: cannot resume: written by a trustsim of 2026-11-29 whose record "
                "of the runs cannot be checked; use another --out"
            ]
        )
    notes = []
    if manifest.get("git_commit") != commit:
        notes.append(
            f"these results were started at commit {manifest.get('git_commit')}; this sweep "
            f"ran at {commit}: the store holds runs of both"
        )
    if "setups" not in old:  # written before 2026-11-29: the plan held the file's hash
        same = (
            old.get("experiment_hash") == exp.text_hash()
            and old.get("scenarios") == [s.digest() for s in exp.scenarios]
            and old.get("steps_override") == overrides["steps"]
            and old.get("samples_override") == overrides["samples"]
        )
        before = {"steps": old.get("steps_override"), "samples": old.get("samples_override")}
        changed = [] if same else ["the experiment file or the options"]
    else:
        before = manifest.get("overrides") or {}
        changed = _plan_changes(old, plan)
    if changed:
        used = "".join(
            f" --{k} {before[k]}" for k in ("steps", "samples") if before.get(k) is not None
        )
        hint = f"; they were run with{used}" if used else ""
        raise ScenarioError(
            [
                f"{folder}: cannot resume: these results were run differently "
                f"({'; '.join(changed)}{hint}); use another --out"
            ]
        )
    earlier = before.get("replications")
    if earlier is not None and earlier != overrides["replications"]:
        r = overrides["replications"]
        now = f"--replications {r}" if r is not None else "the file's replications"
        notes.append(f"the earlier sweep here ran --replications {earlier}; this one ran {now}")
    return notes


def beyond_replications(exp: Experiment, store: ResultsStore) -> list[str]:
    """A note when the store holds more replications than this experiment asks for."""
    reps = exp.replications
    top = reps.count if reps.count is not None else reps.max
    more = store.done_from_replication(top)
    if not more:
        return []
    return [
        f"the store also holds {more} runs beyond this experiment's {top} replications "
        "(from an earlier sweep); the comparison and the report use every stored run"
    ]


def more_replications(exp: Experiment, store: ResultsStore) -> dict[tuple[str, int], int]:
    """Adaptive replications: cells whose CI half-width is still above the target get more."""
    reps = exp.replications
    assert reps.until is not None
    assert reps.half_width is not None
    results = store.results()
    out = {}
    for (scenario, point), cell in results.groupby(["scenario", "point"]):
        values = cell[reps.until].astype(float).to_numpy()
        hw = ci_half_width(values)
        if hw <= reps.half_width or np.isnan(values).all():
            continue  # narrow enough, or no value at all (more runs cannot give one)
        n = len(values)
        # n grows like (hw / target)^2; at least 50% more per round, at most max.
        want = n * (hw / reps.half_width) ** 2 if math.isfinite(hw) else 2 * n
        new = int(min(reps.max, max(math.ceil(want), math.ceil(1.5 * n))))
        if new > n:
            out[(str(scenario), int(str(point)))] = new
    return out
