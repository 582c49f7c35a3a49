"""The pipeline as a library (sim.experiments.pipeline): the same files as the CLI.

A small copy of experiments/sponsorship_vs_peer.toml (three regimes, three
replications, eight weeks) is swept once with `trustsim sweep` and once with
`pipeline.sweep` from Python, each into its own folder; both must write the same
files with the same statistics and report, and the Python call must return the
comparison a user reads in compare.md and the lines the command prints.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_cli import ROOT
from PIL import Image

from sim.cli import main
from sim.experiments import PipelineError, pipeline, sweep

pytestmark = pytest.mark.slow

SHIPPED = ROOT / "experiments" / "sponsorship_vs_peer.toml"
# Files that record when and how they were written (times, the command, sizes of
# files): the same names, their contents are not compared.
RECORDS = {".lock", "manifest.json", "report_key.json", "results.sqlite", "report.html"}


def small_copy(folder: Path) -> Path:
    """The shipped experiment with three of its regimes, 3 replications and 8 weeks."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = re.sub(
        r"scenarios = \[.*?\]",
        'scenarios = ["../scenarios/no_coaching.toml", "../scenarios/top_down_internal.toml", '
        '"../scenarios/peer_led.toml"]',
        text,
        flags=re.DOTALL,
    )
    text = text.replace("../scenarios/", f"{ROOT / 'scenarios'}/")
    text = text.replace("replications = 100", "replications = 3").replace(
        "steps = 104", "steps = 8"
    )
    assert "replications = 3" in text
    assert "steps = 8" in text
    path = folder / "regimes.toml"
    path.write_text(text, encoding="utf-8")
    return path


def files(folder: Path) -> dict[str, Path]:
    """Every file below the folder, by its path relative to it."""
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def untimed(report: str) -> str:
    """A report with the times of its sweep taken out."""
    text, n = re.subn(r"^- (started|ended): \S+$", r"- \1: (time)", report, flags=re.MULTILINE)
    assert n == 2
    return text


def timeless(line: str) -> str:
    """A line with its seconds taken out (each sweep takes its own time)."""
    return re.sub(r"\d+\.\d s", "N s", line)


@pytest.fixture(scope="module")
def swept(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, pipeline.SweepResult, str, str]:
    """The same experiment swept by the CLI (in cli/) and from Python (in python/)."""
    root = tmp_path_factory.mktemp("pipeline")
    path = small_copy(root)
    by_cli, by_python = root / "cli" / "regimes", root / "python" / "regimes"
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", out)
        mp.setattr("sys.stderr", err)
        code = main(["sweep", str(path), "--out", str(by_cli), "--workers", "1"])
    assert code == 0, err.getvalue()
    result = sweep(path, out=by_python, workers=1)
    return by_cli, by_python, result, out.getvalue(), err.getvalue()


def test_python_and_the_cli_write_the_same_files(
    swept: tuple[Path, Path, pipeline.SweepResult, str, str],
) -> None:
    by_cli, by_python, result, _, _ = swept
    cli_files, python_files = files(by_cli), files(by_python)
    assert cli_files.keys() == python_files.keys()
    assert {"compare.csv", "compare.md", "report.md", "report.html"} <= cli_files.keys()
    figures = [name for name in cli_files if name.startswith("figures/")]
    assert any(name.endswith(".png") for name in figures)
    for name in cli_files.keys() - RECORDS:
        a, b = cli_files[name].read_bytes(), python_files[name].read_bytes()
        if name.endswith(".png") and a != b:  # the same picture, if not the same bytes
            pixels = [np.asarray(Image.open(io.BytesIO(x)).convert("RGBA")) for x in (a, b)]
            assert np.array_equal(*pixels), name
        elif name == "report.md":  # it quotes when each sweep started and ended
            assert untimed(a.decode()) == untimed(b.decode())
        else:
            assert a == b, name
    # What the call says it wrote is what is there.
    assert {p.relative_to(by_python).as_posix() for p in result.written} == (
        python_files.keys() - {".lock", "manifest.json", "report_key.json", "results.sqlite"}
    )
    assert result.report == by_python / "report.html"


def test_python_returns_the_comparison_a_user_reads(
    swept: tuple[Path, Path, pipeline.SweepResult, str, str],
) -> None:
    _, by_python, result, _, _ = swept
    md = (by_python / "compare.md").read_text(encoding="utf-8")
    assert result.text == md
    assert result.comparison.markdown() == md
    assert "| no_coaching |" in md
    table = result.comparison.tidy()
    stored = pd.read_csv(by_python / "compare.csv")
    assert list(table.columns) == list(stored.columns)
    assert len(table) == len(stored) > 0
    means = table.dropna(subset=["mean"])["mean"].to_numpy(float)
    assert np.allclose(means, stored.dropna(subset=["mean"])["mean"].to_numpy(float))
    assert result.exit_code == 0
    assert result.runs.done == 9


def test_python_says_what_the_cli_prints(
    swept: tuple[Path, Path, pipeline.SweepResult, str, str],
) -> None:
    by_cli, by_python, result, out, err = swept
    said = [str(m) for m in result.messages if not m.to_stderr]
    warned = [str(m) for m in result.messages if m.to_stderr]
    assert said[-1].startswith("regimes: 9 runs done, 0 failed")
    printed = "".join(f"{line}\n" for line in said).replace(str(by_python), str(by_cli))
    assert [timeless(line) for line in printed.splitlines()] == [
        timeless(line) for line in out.splitlines()
    ]
    assert "".join(f"{w}\n" for w in warned).replace(str(by_python), str(by_cli)) == err
    assert any(w.startswith("warning: ") and "replications" in w for w in warned)


def test_a_report_up_to_date_is_not_drawn_again_from_python(
    swept: tuple[Path, Path, pipeline.SweepResult, str, str],
) -> None:
    _, by_python, _, _, _ = swept
    drawn = (by_python / "report.md").stat().st_mtime_ns
    again = pipeline.report(by_python)
    assert not again.drawn
    assert [str(m) for m in again.messages] == [
        "report up to date (results, experiment and code unchanged): "
        f"{by_python / 'report.html'} (--force draws it again)"
    ]
    assert (by_python / "report.md").stat().st_mtime_ns == drawn
    view = pipeline.compare(by_python, outcomes=["mean_skill", "mean_skill"])
    assert view.written == [by_python / "compare_view.csv", by_python / "compare_view.md"]
    assert view.comparison is not None
    assert set(view.comparison.tidy()["outcome"].dropna()) == {"mean_skill"}


def test_bad_arguments_are_one_line_errors_in_python_and_exit_2_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = small_copy(tmp_path)
    with pytest.raises(PipelineError, match=r"^--workers 0: must be 1 or more$"):
        sweep(path, out=tmp_path / "out", workers=0)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "0"]) == 2
    assert capsys.readouterr().err == "error: --workers 0: must be 1 or more\n"
    assert not (tmp_path / "out").exists()
    with pytest.raises(PipelineError, match="no results store here"):
        pipeline.compare(tmp_path, targets=ROOT / "targets" / "field.toml")
