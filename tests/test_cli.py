"""The trustsim command line, run as a user runs it: in a subprocess."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers_cli import SMALL_EXPERIMENT, trustsim

from sim.model.measures import MEASURES

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES = {
    # name: (file text, words the one error line must contain)
    "unknown_key": ("trust_gian = 0.1\n", ["trust_gian", 'did you mean "trust_gain"']),
    "wrong_type": ('trust_gain = "high"\n', ["trust_gain", '"high"', "a number from 0.0 to 1.0"]),
    "integer_expected": ("members = 4.5\n", ["members", "4.5", "an integer from 2 to 100000"]),
    "out_of_range": ("trust_loss = 1.5\n", ["trust_loss", "1.5", "from 0.0 to 1.0"]),
    "unknown_preset": ('preset = "peer_lead"\n', ["preset", '"peer_lead"', '"peer_led"']),
    "bad_choice": ('coach = "outside"\n', ["coach", '"outside"', '"external"']),
    "malformed": ("trust_gain = = 0.1\n", ["malformed TOML"]),
    "missing_parent": ('extends = "nowhere.toml"\n', ["extends", "nowhere.toml", "not found"]),
    "bad_event": (
        '[[events]]\ntype = "explosion"\nat = 3\n',
        ["events[0].type", '"explosion"', '"breach"'],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_validate_reports_one_clear_line_and_exit_2(tmp_path: Path, case: str) -> None:
    text, words = BAD_FILES[case]
    path = write(tmp_path / f"{case}.toml", text)
    result = trustsim("validate", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(path) in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_extends_cycle_is_named(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    result = trustsim("validate", str(tmp_path / "a.toml"))
    assert result.returncode == 2
    assert "cycle" in result.stderr
    assert "a.toml" in result.stderr
    assert "b.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_reports_every_error_of_every_file(tmp_path: Path) -> None:
    good = write(tmp_path / "good.toml", 'preset = "peer_led"\ngossip_rate = 0.2\n')
    bad = write(tmp_path / "bad.toml", "trust_gain = 2\nlevels = 0\nfoo = 1\n")
    result = trustsim("validate", str(good), str(bad))
    assert result.returncode == 2
    assert f"ok: {good}" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3
    assert all(str(bad) in line for line in errors)


def test_validate_missing_file(tmp_path: Path) -> None:
    result = trustsim("validate", str(tmp_path / "absent.toml"))
    assert result.returncode == 2
    assert "absent.toml" in result.stderr
    assert "not found" in result.stderr


def test_run_writes_tables_plot_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = trustsim("run", "peer_led", "--seed", "7", "--steps", "20", "--out", str(out))
    assert result.returncode == 0, result.stderr
    steps = pd.read_csv(out / "steps.csv")
    assert list(steps.columns) == ["step", *MEASURES]
    assert steps["step"].tolist() == list(range(21))
    record = json.loads((out / "summary.json").read_text())
    assert record["seed"] == 7
    assert record["parameters"]["peer_coaching"] is True
    assert record["summary"]["mean_skill"] == pytest.approx(steps["mean_skill"].iloc[-1])
    assert (out / "trust_skill.png").stat().st_size > 10_000
    assert "mean skill" in result.stdout
    assert "seed 7" in result.stdout


def test_run_is_reproducible_from_its_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        args = ("run", "hybrid", "--seed", "3", "--steps", "15", "--out", str(tmp_path / name))
        assert trustsim(*args).returncode == 0
    a = (tmp_path / "a" / "steps.csv").read_text()
    b = (tmp_path / "b" / "steps.csv").read_text()
    assert a == b


def test_run_with_bad_override_exits_2_without_traceback(tmp_path: Path) -> None:
    result = trustsim("run", "peer_led", "--set", "gossip_rate=3", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "gossip_rate = 3" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "steps.csv").exists()


def test_run_unknown_scenario_lists_choices() -> None:
    result = trustsim("run", "no_such_scenario")
    assert result.returncode == 2
    assert "no_such_scenario" in result.stderr
    assert "peer_led" in result.stderr


def test_scenarios_lists_library_with_descriptions() -> None:
    result = trustsim("scenarios")
    assert result.returncode == 0
    files = sorted((ROOT / "scenarios").glob("*.toml"))
    assert files, "the scenario library is empty"
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(files)
    for f, line in zip(files, lines, strict=True):
        assert line.startswith(f.stem)
        assert len(line) > len(f.stem) + 10  # a description follows the name


@pytest.mark.parametrize(
    "command", ["run", "validate", "scenarios", "parameters", "sweep", "compare", "export"]
)
def test_every_command_has_help(command: str) -> None:
    result = trustsim(command, "--help")
    assert result.returncode == 0
    assert "usage: trustsim" in result.stdout
    assert "--help" in result.stdout


def test_parameters_prints_the_table() -> None:
    result = trustsim("parameters")
    assert result.returncode == 0
    assert "| `trust_gain` | 0.08 |" in result.stdout


def test_large_runs_keep_one_row_per_week_unless_teams_are_asked_for(tmp_path: Path) -> None:
    plain = trustsim("run", "large_org", "--steps", "3", "--out", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    assert not (tmp_path / "plain" / "teams.csv").exists()  # 1,000 teams: auto is off
    assert len(pd.read_csv(tmp_path / "plain" / "steps.csv")) == 4  # weeks 0-3
    asked = trustsim(
        "run", "large_org", "--steps", "3", "--teams", "on", "--out", str(tmp_path / "asked")
    )
    assert asked.returncode == 0, asked.stderr
    teams = pd.read_csv(tmp_path / "asked" / "teams.csv")
    assert teams["team"].nunique() == 1000
    assert len(teams) == teams["team"].nunique() * 4
    assert "teams.csv" in asked.stdout


def test_validate_checks_experiment_files_too(tmp_path: Path) -> None:
    done = trustsim("validate", "experiments/march1991.toml", "scenarios/peer_led.toml")
    assert done.returncode == 0, done.stderr
    assert "ok: experiments/march1991.toml (experiment: 2160 runs)" in done.stdout
    assert "ok: scenarios/peer_led.toml" in done.stdout
    bad = write(tmp_path / "bad.toml", 'scenarios = ["peer_led"]\nreplications = 0\n')
    failed = trustsim("validate", str(bad))
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [
        f"error: {bad}: replications.count = 0 is not allowed: an integer from 1 to 1,000,000"
    ]


@pytest.mark.skipif(sys.platform != "linux", reason="a pseudo-terminal as on Linux")
def test_a_large_run_shows_a_progress_bar_in_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    command = [sys.executable, "-m", "sim.cli", "run", "large_org", "--steps", "20"]
    proc = subprocess.Popen(
        [*command, "--out", str(tmp_path / "lo")], stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the run is over
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    text = seen.decode(errors="replace")
    assert "/20 [" in text  # tqdm's "k/20 [elapsed<left, rate]"
    assert "week/s" in text
    assert "large_org: 20 weeks, 11111 people" in text


RAN = re.compile(
    r"^small: (\d+) runs done, 0 failed(?:, (\d+) already stored)?, in (\d+\.\d) s running "
    r"and storing them; (the statistics(?: and the report)?) took (\d+\.\d) s more \((.+)\)$"
)


def timed_sweep(*args: str) -> tuple[list[str], float]:
    started = time.perf_counter()
    done = trustsim("sweep", *args, "--workers", "1")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines(), time.perf_counter() - started


def imported(*args: str) -> set[str]:
    """The modules `trustsim ARGS` imports (Python's -X importtime, on stderr)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sim.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}


def test_a_sweep_says_what_its_time_covers_and_a_second_one_that_it_ran_nothing(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "small.toml", SMALL_EXPERIMENT)
    out = tmp_path / "out"
    lines, wall = timed_sweep(str(path), "--out", str(out))
    found = RAN.match(lines[-1])
    assert found, lines[-1]
    assert found.group(1, 2, 4, 6) == ("4", None, "the statistics and the report", str(out))
    running, after = float(found.group(3)), float(found.group(5))
    assert after > 0  # drawing a report takes a while
    assert running + after <= wall, "the seconds are parts of the command's time"
    assert lines[-2] == f"report: {out / 'report.html'} (and report.md, figures/)"

    again, _ = timed_sweep(str(path), "--out", str(out), "--resume")
    assert again[-2:] == [
        f"report up to date (results, experiment and code unchanged): {out / 'report.html'}",
        f"small: 4 runs already stored, none run ({out})",
    ]
    modules = imported("sweep", str(path), "--out", str(out), "--resume", "--workers", "1")
    assert "sim.experiments.runner" in modules  # what the sweep needs
    drawing = {
        "matplotlib",
        "sim.reporting.plots",
        "sim.reporting.report",
        "sim.experiments.draw",
    }
    assert not modules & drawing, "nothing that draws is imported when nothing is drawn"

    more, wall = timed_sweep(
        str(path), "--out", str(out), "--resume", "--replications", "3", "--no-report"
    )
    found = RAN.match(more[-1])
    assert found, more[-1]
    assert found.group(1, 2, 4) == ("2", "4", "the statistics")
    assert float(found.group(3)) + float(found.group(5)) <= wall


def test_compare_with_an_outcome_writes_its_view_and_keeps_the_experiments_files(
    tmp_path: Path,
) -> None:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_EXPERIMENT.replace('["mean_skill"]', '["mean_skill", "mean_trust"]'))
    out = tmp_path / "out"
    assert trustsim("sweep", str(path), "--out", str(out), "--no-report").returncode == 0
    before = (out / "compare.csv").read_text()
    result = trustsim("compare", str(out), "--outcome", "mean_trust")
    assert result.returncode == 0, result.stderr
    assert "compare_view.csv" in result.stdout
    view = pd.read_csv(out / "compare_view.csv")
    assert set(view["outcome"].dropna()) == {"mean_trust"}  # the view asked for
    assert (out / "compare.csv").read_text() == before  # the experiment's own, untouched
    assert "mean_trust" in (out / "compare_view.md").read_text()


def test_validate_warns_of_an_event_after_the_horizon_and_of_a_design_too_small(
    tmp_path: Path,
) -> None:
    late = tmp_path / "late.toml"
    late.write_text(f'extends = "{ROOT / "scenarios" / "breach_shock.toml"}"\nsteps = 30\n')
    result = trustsim("validate", str(late))
    assert result.returncode == 0, result.stderr  # valid, but the event never happens
    assert "breach event at week 52 is after the last week (30), so it never happens" in (
        result.stderr
    )
    small = tmp_path / "small.toml"
    small.write_text(SMALL_EXPERIMENT)  # 2 replications: no p below 0.05 is possible
    result = trustsim("validate", str(small))
    assert result.returncode == 0, result.stderr
    assert "with 2 replications no paired difference can reach p < 0.05" in result.stderr
    assert "6 replications or more can" in result.stderr


def test_plot_and_compare_suggest_the_outcome_meant(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_EXPERIMENT)
    out = tmp_path / "out"
    assert trustsim("sweep", str(path), "--out", str(out), "--no-report").returncode == 0
    for command in ("plot", "compare"):
        result = trustsim(command, str(out), "--outcome", "mean_skil")
        assert result.returncode == 2
        assert result.stderr.strip() == (
            f"error: {out}: --outcome 'mean_skil' is not an outcome of these results "
            '(did you mean "mean_skill"?)'
        )


@pytest.mark.slow
def test_the_readmes_demo_output_is_what_the_demo_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("lines left out here):\n\n```\n", 1)[1].split("\n```", 1)[0]
    shown = [line for line in block.splitlines() if line and line != "..."]
    assert len(shown) > 10  # the table, sentences and the power line
    result = trustsim(
        "sweep",
        "experiments/sponsorship_vs_peer.toml",
        "--out",
        str(tmp_path / "demo"),
        "--no-report",
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    timed = ("report:", "sponsorship_vs_peer:")  # its seconds and folder differ run to run
    missing = [line for line in shown if not line.startswith(timed) and line not in printed]
    assert missing == [], "regenerate the README's demo output from a real run"
