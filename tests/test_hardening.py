"""Bad input through the real command line: one line, exit 2, no traceback, no hang.

Each case is one kind of bad input a tester found (issue 15): a file the loader must
not open, a design too big to start, a message that named the wrong thing. Cases run
`sim.cli.main` in this process with an alarm, so that a hang fails the case instead
of stalling the suite; the few that need a process of their own (two sweeps at once,
a read-only disk) start one.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.cli import main
from tests.helpers_cli import ROOT, SMALL_EXPERIMENT, trustsim

TIMEOUT = 30  # seconds: a case that takes longer hangs


class HangError(Exception):
    """A case ran past TIMEOUT."""


@contextmanager
def alarm(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: object) -> None:
        raise HangError(f"no answer after {seconds} s")

    before = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`trustsim ARGS` as the console script runs it: exit code, stdout, stderr."""
    with alarm(TIMEOUT):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's mistakes end the process, as in a shell
            code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _loop(path: Path) -> None:
    (path.parent / "loop_b.toml").symlink_to(path.name)
    path.symlink_to("loop_b.toml")


def _folder(path: Path) -> None:
    path.mkdir()


def _chain(path: Path) -> None:
    for i in range(40):
        nxt = f'extends = "chain{i + 1}.toml"\n' if i < 39 else "trust_gain = 0.1\n"
        (path.parent / f"chain{i}.toml").write_text(nxt, encoding="utf-8")


# A file is text, bytes, or a function that makes it (a pipe, a loop, a folder).
Files = dict[str, str | bytes | Callable[[Path], None]]


@dataclass(frozen=True)
class Case:
    """Files to write, the command, and what its one error line must name."""

    args: tuple[str, ...]
    names: tuple[str, ...]  # the file, the key, the value and what is allowed
    files: Files = field(default_factory=dict)


FACTORIAL = "\n".join(
    [
        'scenarios = ["peer_led"]',
        "[sweep.parameters]",
        *(
            f"{key} = [{', '.join(str(round(0.05 + 0.09 * i, 2)) for i in range(10))}]"
            for key in (
                "skill_mean",
                "specialty_bonus",
                "manager_skill",
                "propensity_mean",
                "benevolence_mean",
                "integrity_mean",
                "initial_trust_scale",
                "power_distance",
                "management_trust_scale",
                "external_trust_discount",
            )
        ),
    ]
)

CASES: dict[str, Case] = {
    # accepted, then failed: the memory a scenario needs is judged at validation
    "members beyond memory (validate)": Case(
        ("validate", "big.toml"),
        ("big.toml", "members = 100000", "levels = 1", "TB of memory", "use more levels"),
        {"big.toml": "members = 100000\n"},
    ),
    "members beyond memory (run)": Case(
        ("run", "big.toml", "--steps", "1"),
        ("big.toml", "members = 30000", "GB of memory", "levels = 2 needs about"),
        {"big.toml": "members = 30000\n"},
    ),
    "members beyond memory (--set)": Case(
        ("run", "peer_led", "--set", "members=100000"),
        ("members = 100000", "TB of memory"),
    ),
    # hangs: a pipe is never opened, sizes are counted before anything starts
    "a pipe as scenario": Case(
        ("validate", "pipe.toml"), ("pipe.toml", "not a regular file"), {"pipe.toml": _fifo}
    ),
    "a pipe as experiment": Case(
        ("sweep", "pipe.toml", "--out", "out"),
        ("pipe.toml", "not a regular file"),
        {"pipe.toml": _fifo},
    ),
    "a pipe as extends target": Case(
        ("validate", "child.toml"),
        ("child.toml", 'extends = "pipe.toml"', "not a regular file"),
        {"pipe.toml": _fifo, "child.toml": 'extends = "pipe.toml"\n'},
    ),
    "a pipe as an experiment's scenario": Case(
        ("validate", "exp.toml"),
        ("exp.toml", "scenarios[0] = 'pipe.toml'", "not a regular file"),
        {"pipe.toml": _fifo, "exp.toml": 'scenarios = ["pipe.toml"]\n'},
    ),
    "until an outcome a scenario never has": Case(
        ("sweep", "exp.toml", "--out", "out"),
        ("exp.toml", "replications.until = 'trust_in_coach'", "'no_coaching' has no coach"),
        {
            "exp.toml": 'scenarios = ["no_coaching"]\n[replications]\nuntil = "trust_in_coach"\n'
            "half_width = 0.01\n"
        },
    ),
    "adaptive max without a cap": Case(
        ("validate", "exp.toml"),
        ("exp.toml", "replications.max = 1000000000", "an integer from 2 to 1,000,000"),
        {
            "exp.toml": 'scenarios = ["peer_led"]\n[replications]\nuntil = "mean_skill"\n'
            "half_width = 0.01\nmax = 1000000000\n"
        },
    ),
    "--replications beyond the file's cap": Case(
        ("sweep", "exp.toml", "--replications", "100000000", "--out", "out"),
        ("exp.toml with --replications 100000000", "200,000,000 runs", "1,000,000"),
        {"exp.toml": SMALL_EXPERIMENT},
    ),
    "a factorial of 10^10 points": Case(
        ("sweep", "exp.toml", "--out", "out"),
        ("exp.toml", "10,000,000,000 points", "more than the 1,000,000", "fewer values"),
        {"exp.toml": FACTORIAL},
    ),
    "sensitivity samples beyond the cap": Case(
        ("sensitivity", "exp.toml", "--samples", "4194304", "--out", "out"),
        ("exp.toml with --samples 4194304", "runs", "1,000,000"),
        {
            "exp.toml": 'scenarios = ["peer_led"]\nreplications = 2\n[sensitivity]\n'
            "samples = 8\nparameters = { trust_gain = { min = 0.05, max = 0.2 } }\n"
        },
    ),
    # tracebacks before: every one is now a line naming the file
    "an experiment that is not UTF-8": Case(
        ("sweep", "exp.toml", "--out", "out"),
        ("exp.toml", "not UTF-8", "byte 0xff", "save it as UTF-8"),
        {"exp.toml": b'scenarios = ["peer_led"]\n\xff\xfe\n'},
    ),
    "a scenario that is not UTF-8": Case(
        ("run", "bad.toml"), ("bad.toml", "not UTF-8"), {"bad.toml": b"trust_gain = 0.1 # \xe9\n"}
    ),
    "deeply nested TOML": Case(
        ("validate", "deep.toml"),
        ("deep.toml", "malformed TOML", "nested too deeply"),
        {"deep.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n"},
    ),
    "deeply nested --set": Case(
        ("run", "peer_led", "--set", "trust_gain=" + "[" * 3000 + "]" * 3000),
        ("trust_gain", "is not allowed", "a number from"),
    ),
    "an extends chain 40 files deep": Case(
        ("validate", "chain0.toml"),
        ("chain0.toml", "a chain of more than 32 files"),
        {"chain0.toml": _chain},
    ),
    "--scheduler not an address": Case(
        ("sweep", "exp.toml", "--scheduler", "not a url", "--out", "out"),
        ("--scheduler not a url", "not a scheduler address", "tcp://host:8786"),
        {"exp.toml": SMALL_EXPERIMENT},
    ),
    # resource abuse
    "a 2 MB scenario (its name)": Case(
        ("run", "huge.toml"),
        ("huge.toml", "2,000,010 bytes", "at most 1,000,000 bytes"),
        {"huge.toml": 'name = "' + "x" * 2_000_000 + '"\n'},
    ),
    "a long name": Case(
        ("validate", "long.toml"),
        ("long.toml", 'name = "xxx', "(500 characters)", "a text of 1 to 80 characters"),
        {"long.toml": 'name = "' + "x" * 500 + '"\n'},
    ),
    "a long experiment name": Case(
        ("validate", "exp.toml"),
        ("exp.toml", 'name = "yyy', "(300 characters) is not allowed: a text of 1 to 80"),
        {"exp.toml": 'name = "' + "y" * 300 + '"\n' + SMALL_EXPERIMENT},
    ),
    # found by a second tester
    "an integer of 5,000 digits": Case(
        ("run", "peer_led", "--set", "members=" + "9" * 5000),
        ("members", "is not allowed", "an integer from 2 to 100000"),
    ),
    "an integer of 5,000 digits in a file": Case(
        ("validate", "big.toml"),
        ("big.toml", "malformed TOML", "4300 digits"),
        {"big.toml": "members = " + "9" * 5000 + "\n"},
    ),
    "an outcome listed twice": Case(
        ("sweep", "exp.toml", "--out", "out"),
        ("exp.toml", "outcomes: 'mean_skill' is listed twice"),
        {"exp.toml": SMALL_EXPERIMENT.replace('["mean_skill"]', '["mean_skill", "mean_skill"]')},
    ),
    "a validation team without a coach": Case(
        ("validate", "exp.toml"),
        ("exp.toml", "validation.team = 'peer_led' has no coach"),
        {
            "exp.toml": 'scenarios = ["peer_led", "breach_shock", "hierarchy_1", "hierarchy_2"]\n'
            "replications = 2\nsteps = 10\n[sweep.parameters]\nsponsorship_strength = [0.0, "
            '0.3]\nmanagement_trust_scale = [0.5, 1.0]\n[validation]\nteam = "peer_led"\n'
            'breach = "breach_shock"\nhierarchy = ["hierarchy_1", "hierarchy_2"]\n'
        },
    ),
    "an experiment name that leaves results/": Case(
        ("sweep", "exp.toml"),
        ("exp.toml", 'name = "../../etc" is not allowed', "without / or"),
        {"exp.toml": 'name = "../../etc"\n' + SMALL_EXPERIMENT},
    ),
    "a scenario name that leaves results/": Case(
        ("run", "peer_led", "--set", "name=../../escaped"),
        ('name = "../../escaped" is not allowed', 'not "." or ".."'),
    ),
    "--out empty": Case(("sweep", "exp.toml", "--out", ""), ("--out ''", "give a folder")),
    "a trust-in-coach survey without a coach": Case(
        ("validate", "s.toml"),
        ("s.toml", 'trust_in_coach survey with coach = "none"'),
        {"s.toml": 'preset = "peer_led"\n[[surveys]]\ninstrument = "trust_in_coach"\nat = 1\n'},
    ),
    "keep_teams in words": Case(
        ("validate", "exp.toml"),
        ("exp.toml", 'keep_teams = "yes" is not allowed: true or false'),
        {"exp.toml": 'keep_teams = "yes"\n' + SMALL_EXPERIMENT},
    ),
    "second_order in words": Case(
        ("validate", "exp.toml"),
        ("exp.toml", 'sensitivity.second_order = "yes" is not allowed: true or false'),
        {
            "exp.toml": 'scenarios = ["peer_led"]\nreplications = 2\n[sensitivity]\nsamples = 8\n'
            'second_order = "yes"\nparameters = { trust_gain = { min = 0.05, max = 0.2 } }\n'
        },
    ),
    "a mistyped option (argparse)": Case(
        ("run", "peer_led", "--seed", "abc"), ("argument --seed", "invalid int value: 'abc'")
    ),
    "an unknown command (argparse)": Case(("runn",), ("invalid choice: 'runn'", "--help")),
    "app --port 0": Case(("app", "--port", "0"), ("--port 0", "from 1 to 65535")),
    # unclear messages before
    "an extends symlink loop": Case(
        ("validate", "child.toml"),
        ("child.toml", 'extends = "loop.toml"', "leads back to itself (a loop)"),
        {"loop.toml": _loop, "child.toml": 'extends = "loop.toml"\n'},
    ),
    "extends names a folder": Case(
        ("validate", "child.toml"),
        ("child.toml", 'extends = "shared"', "is a folder, not a file"),
        {"shared": _folder, "child.toml": 'extends = "shared"\n'},
    ),
    "scenarios names a folder": Case(
        ("validate", "exp.toml"),
        ("exp.toml", "scenarios[0] = 'shared'", "is a folder, not a file"),
        {"shared": _folder, "exp.toml": 'scenarios = ["shared"]\n'},
    ),
    "replications in words": Case(
        ("validate", "exp.toml"),
        ("exp.toml", 'replications = "ten"', "a whole number of runs", "[replications] table"),
        {"exp.toml": 'scenarios = ["peer_led"]\nreplications = "ten"\n'},
    ),
    "scenarios as a string": Case(
        ("validate", "exp.toml"),
        ("exp.toml", 'scenarios = "peer_led"', "a non-empty list of scenario files"),
        {"exp.toml": 'scenarios = "peer_led"\n'},
    ),
    "samples = 0": Case(
        ("validate", "exp.toml"),
        ("exp.toml", "sensitivity.samples = 0", "an integer from 2 to 1,000,000"),
        {
            "exp.toml": 'scenarios = ["peer_led"]\n[sensitivity]\nsamples = 0\n'
            "parameters = { trust_gain = { min = 0.05, max = 0.2 } }\n"
        },
    ),
    "an unknown experiment key": Case(
        ("validate", "exp.toml"),
        ("exp.toml", "unknown key 'replicatons'", 'did you mean "replications"', "allowed: name"),
        {"exp.toml": 'scenarios = ["peer_led"]\nreplicatons = 3\n'},
    ),
    "an unknown key in [replications]": Case(
        ("validate", "exp.toml"),
        ("exp.toml", "unknown key 'replications.cout'", 'did you mean "count"'),
        {"exp.toml": 'scenarios = ["peer_led"]\n[replications]\ncout = 3\n'},
    ),
    "sweep --steps beyond the horizon's range": Case(
        ("sweep", "exp.toml", "--steps", "20000", "--out", "out"),
        ("--steps", "steps = 20000", "an integer from 1 to 10000"),
        {"exp.toml": SMALL_EXPERIMENT},
    ),
    "--steps before a defined outcome's week": Case(
        ("sweep", "exp.toml", "--steps", "5", "--out", "out"),
        ("--steps 5: define.late of exp.toml reads week 15", "run at least 15 weeks"),
        {
            "exp.toml": SMALL_EXPERIMENT.replace("steps = 6", "steps = 20")
            + '[define.late]\nmeasure = "mean_skill"\nstat = "at"\nat = 15\n'
        },
    ),
    "app --host that is no address": Case(
        ("app", "--host", "no-such-host.invalid", "--port", "8899"),
        ("--host no-such-host.invalid", "not a name or address of this machine", "127.0.0.1"),
    ),
    "app --host of another machine": Case(
        ("app", "--host", "192.0.2.1", "--port", "8899"),
        ("--port 8899 on 192.0.2.1", "--host 192.0.2.1 is not an address of this machine"),
    ),
}


def _write(folder: Path, files: Files) -> None:
    for name, content in files.items():
        path = folder / name
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_one_clear_line(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, case.files)
    code, out, err = cli(capsys, *case.args)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2, err
    assert "Traceback" not in err + out
    assert len(errors) == 1, err
    for name in case.names:
        assert name in errors[0], errors[0]
    assert len(errors[0]) < 400, errors[0]  # a line, not the value it refused
    assert not (tmp_path / "out").exists()  # nothing was started


def test_what_is_only_a_warning_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A byte-order mark is fine; an event after the horizon is said in validate and run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbftrust_gain = 0.1\nsteps = 3\n")
    assert cli(capsys, "validate", "bom.toml")[0] == 0
    late = '[[events]]\ntype = "breach"\nat = 500\n'
    idle = '[[events]]\ntype = "breach"\nat = 2\n'  # the coach breaches: there is none
    (tmp_path / "late.toml").write_text("steps = 4\n" + late + idle, encoding="utf-8")
    for command in (("validate", "late.toml"), ("run", "late.toml", "--out", "run")):
        code, _, err = cli(capsys, *command)
        assert code == 0, err
        assert "its breach event at week 500 is after the last week (4)" in err
        assert "its breach event at week 2 does nothing: it has no coach" in err


def test_workers_are_capped_at_the_cores_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    code, out, err = cli(
        capsys, "sweep", "exp.toml", "--workers", "1000", "--out", "out", "--no-report"
    )
    cores = len(os.sched_getaffinity(0))
    assert code == 0, err
    assert f"note: --workers 1000: this machine has {cores} cores; ran {cores} workers" in err
    assert "4 runs done" in out
    # one run to do: one worker, whatever was asked
    (tmp_path / "one.toml").write_text('scenarios = ["peer_led"]\nreplications = 1\nsteps = 3\n')
    code, out, err = cli(capsys, "sweep", "one.toml", "--workers", "2", "--out", "one")
    assert code == 0, err
    assert "note: --workers 2: 1 run to do; started 1 worker" in err


# ------------------------------------------------------------------ damaged results
def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sweep's results folder, to damage copies of."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "exp.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    done = trustsim("sweep", "exp.toml", "--out", "out", "--no-report", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def _truncate(folder: Path) -> None:
    path = folder / "results.sqlite"
    os.truncate(path, path.stat().st_size // 2)


def _overwrite_header(folder: Path) -> None:
    path = folder / "results.sqlite"
    data = bytearray(path.read_bytes())
    data[:16] = b"not a database!!"
    path.write_bytes(bytes(data))


def _scramble_pages(folder: Path) -> None:
    path = folder / "results.sqlite"
    data = bytearray(path.read_bytes())
    data[20_000:] = bytes((i * 7919) % 251 for i in range(len(data) - 20_000))
    path.write_bytes(bytes(data))


def _cut_manifest(folder: Path) -> None:
    path = folder / "manifest.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


DAMAGE = {
    "a truncated store": (_truncate, "results.sqlite: is damaged: cut short"),
    "a store that is no SQLite file": (_overwrite_header, "results.sqlite: is not a results"),
    "a store with damaged pages": (_scramble_pages, "results.sqlite: is damaged"),
    "a truncated manifest": (_cut_manifest, "manifest.json: is damaged"),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
@pytest.mark.parametrize(
    "command",
    [("sweep", "exp.toml", "--resume"), ("compare",), ("report",), ("export",)],
    ids=["resume", "compare", "report", "export"],
)
def test_damaged_results_are_refused_and_left_as_they_are(
    damage: tuple[Callable[[Path], None], str],
    command: tuple[str, ...],
    finished: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("results.sqlite", "manifest.json"):
        (folder / name).write_bytes((finished / "out" / name).read_bytes())
    harm, expected = damage
    harm(folder)
    before = _digests(folder)
    args = (*command, "--out", "out") if command[0] == "sweep" else (*command, "out")
    code, out, err = cli(capsys, *args)
    if command == ("export",) and harm is _cut_manifest:
        # export reads only the store, which is whole: it writes the tables
        assert code == 0, err
        assert (folder / "export" / "summaries.parquet").exists()
        return
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2, err
    assert "Traceback" not in err + out
    assert len(errors) == 1, err
    assert expected in errors[0], err
    assert "nothing was changed" in errors[0]
    assert _digests(folder) == before  # not a byte of it touched


# ------------------------------------------------------------------ two at once
def test_a_second_sweep_into_a_folder_being_written_is_refused(tmp_path: Path) -> None:
    """Two sweeps into one --out mixed their runs under one manifest: now one is refused."""
    # 6,000 runs of 104 weeks on one worker: several seconds, while the second starts
    long = SMALL_EXPERIMENT.replace("replications = 2", "replications = 3000").replace(
        "steps = 6", "steps = 104"
    )
    (tmp_path / "first.toml").write_text(long, encoding="utf-8")
    (tmp_path / "second.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    command = [sys.executable, "-m", "sim.cli", "sweep", "first.toml", "--out", "out"]
    first = subprocess.Popen(
        [*command, "--no-report", "--workers", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        store = tmp_path / "out" / "results.sqlite"
        while not store.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first sweep ended before the second could start"
        second = trustsim("sweep", "second.toml", "--out", "out", "--resume", cwd=tmp_path)
        assert second.returncode == 2, second.stderr
        (line,) = [x for x in second.stderr.splitlines() if x.startswith("error:")]
        assert f"pid {first.pid}" in line, line
        assert "`trustsim sweep first.toml" in line, line
        assert "is writing these results now" in line
    finally:
        first.kill()
        first.wait(timeout=30)
    # killed: its lock file stays, locks nothing, and the next sweep says so (it runs only
    # the first replication, stored already: the note is the point)
    again = trustsim(
        "sweep",
        "first.toml",
        "--out",
        "out",
        "--resume",
        "--replications",
        "1",
        "--no-report",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert f"the sweep that wrote here before (pid {first.pid}" in again.stderr
    db = sqlite3.connect(tmp_path / "out" / "results.sqlite")
    seeds = {r[0] for r in db.execute("SELECT DISTINCT scenario FROM runs")}
    db.close()
    assert seeds == {"peer_led", "no_coaching"}
    assert (tmp_path / "out" / ".lock").read_text() == ""  # a clean end empties it


def test_out_on_a_read_only_disk_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "exp.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(readonly)],
        capture_output=True,
        check=False,
    )
    # Without the right to mount, a folder under /proc is as unwritable (even for root).
    target = readonly / "out" if mounted.returncode == 0 else Path("/proc/trustsim/out")
    try:
        done = trustsim("sweep", "exp.toml", "--out", str(target), cwd=tmp_path)
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", str(readonly)], check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert str(target) in line


def test_a_manifest_without_its_record_refuses_resume(
    finished: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "results.sqlite").write_bytes((finished / "out" / "results.sqlite").read_bytes())
    (folder / "manifest.json").write_text('{"a": 1}\n', encoding="utf-8")
    before = _digests(folder)
    code, _, err = cli(capsys, "sweep", "exp.toml", "--out", "out", "--resume")
    assert code == 2, err
    assert "manifest.json holds no record of how these results were run" in err
    assert {k: v for k, v in _digests(folder).items() if k != ".lock"} == before


def test_a_damaged_lock_file_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lock file that is not the JSON a sweep writes locks nothing: the sweep says so."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.toml").write_text(SMALL_EXPERIMENT, encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".lock").write_text("{not json", encoding="utf-8")
    code, out, err = cli(capsys, "sweep", "exp.toml", "--out", "out", "--no-report")
    assert code == 0, err
    assert "Traceback" not in err
    assert "the sweep that wrote here before (pid None" in err
    assert "4 runs done" in out
