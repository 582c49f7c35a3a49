"""Reports: every experiment file gives a report at a tiny size, and its figures are sound.

Each experiment in experiments/ is run once per module at 3 replications of 6 weeks
(one worker) and reported with write_report; the tests then read report.md,
report.html and the figures. The figures of each experiment are rebuilt as objects
(report_figures.build_figures) to check labels, n in titles and scenario colours. The CLI
commands report, plot and animate run through `python -m sim.cli`.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from figure_checks import misfits
from helpers_cli import SMALL_EXPERIMENT, trustsim
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer

from sim.experiments import load_experiment, run
from sim.experiments.compare import (
    ResultsTables,
    comparison,
    load_results,
    sensitivity_results,
    validation_results,
)
from sim.experiments.draw import median_networks, write_report
from sim.methods.comparison import Comparison
from sim.model.scenario_files import describe_file
from sim.reporting import document, plots, report, report_figures

ROOT = Path(__file__).resolve().parent.parent
# One experiment per design the report draws (every file also runs at a tiny size in
# test_experiments): no sweep, one parameter, a two-parameter grid of two scenarios, a
# grid of one scenario of another model kind (March), a sensitivity design. The
# others repeat these designs: breach_recovery (no sweep), stylized_facts (a grid of
# six scenarios, its facts figure is checked in test_validation), sensitivity_core
# (Sobol, like ishigami_check); drawing their figures here would add a minute.
EXPERIMENTS = [
    ROOT / "experiments" / f"{name}.toml"
    for name in (
        "sponsorship_vs_peer",
        "hierarchy_levels",
        "regime_map",
        "march1991",
        "ishigami_check",
    )
]
REPLICATIONS = 3
STEPS = 6


@dataclass
class Reported:
    path: Path
    folder: Path
    md: Path
    html: Path


@pytest.fixture(scope="module", params=EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def reported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Reported:
    path: Path = request.param
    folder = tmp_path_factory.mktemp(path.stem) / path.stem
    exp = load_experiment(path)
    done = run(
        path,
        out=folder,
        replications=REPLICATIONS,
        steps=STEPS if exp.model == "trust" else None,
        samples=4 if exp.sensitivity is not None else None,  # the smallest design
        workers=1,
        progress=False,
    )
    assert done.failed == 0
    md, html_path = write_report(folder)
    return Reported(path, folder, md, html_path)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


# Unit checks of sim.reporting.report -------------------------------------------------------------


def test_median_run_is_the_lower_median_and_skips_missing_values() -> None:
    results = pd.DataFrame(
        {
            "run_id": ["r0", "r1", "r2", "r3", "r4", "q0"],
            "scenario": ["a", "a", "a", "a", "a", "b"],
            "replication": [0, 1, 2, 3, 4, 0],
            "mean_skill": [0.4, 0.1, np.nan, 0.3, 0.2, 0.5],
        }
    )
    assert report_figures.median_run(results, "a", "mean_skill") == "r4"  # 0.1 0.2 | 0.3 0.4
    assert report_figures.median_run(results, "b", "mean_skill") == "q0"
    assert report_figures.median_run(results, "nobody", "mean_skill") is None
    three = results[results["run_id"] != "r0"]
    assert report_figures.median_run(three, "a", "mean_skill") == "r4"  # 0.1 0.2 0.3


def test_swept_parameters_keeps_those_that_vary() -> None:
    runs = pd.DataFrame(
        {
            "swept": [json.dumps({"members": 48, "levels": v}) for v in (1, 2, 3)],
            "members": [48, 48, 48],
            "levels": [1, 2, 3],
        }
    )
    assert report_figures.swept_parameters(runs) == ["levels"]
    plain = pd.DataFrame({"swept": ["{}", "{}"], "members": [12, 12]})
    assert report_figures.swept_parameters(plain) == []


def test_report_html_embeds_figures_and_escapes_text(tmp_path: Path) -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "line.png")
    rep = document.Report("a <b> & c")
    rep.add("p", "x < y & z")
    rep.add("figure", ("line", 'caption with "quotes" & <tags>'))
    rep.add("table", pd.DataFrame({"scenario": ["a"], "mean": [0.12345]}))
    text = rep.html(tmp_path)
    assert "<b>" not in text.split("<body>")[1].split("</h1>")[0]
    assert "x &lt; y &amp; z" in text
    (src,) = re.findall(r'src="([^"]+)"', text)
    assert src.startswith("data:image/png;base64,")
    png = base64.b64decode(src.removeprefix("data:image/png;base64,"))
    assert png == (tmp_path / "line.png").read_bytes()
    assert "0.123" in text
    md = rep.markdown()
    assert "![caption with" in md
    assert "(figures/line.png)" in md


# Every experiment: its report ---------------------------------------------------------


def _question(path: Path) -> str:
    return load_experiment(path).question


@pytest.mark.slow  # runs the experiment and writes its report (module fixture)
def test_report_files_exist_and_html_is_self_contained(reported: Reported) -> None:
    assert reported.md == reported.folder / "report.md"
    assert reported.html == reported.folder / "report.html"
    assert reported.md.is_file()
    assert reported.html.is_file()
    text = reported.html.read_text(encoding="utf-8")
    pngs = sorted((reported.folder / "figures").glob("*.png"))
    assert pngs, "figures were written"
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]+)""", text)
    assert len(sources) == len(pngs)
    assert all(s.startswith("data:image/png;base64,") for s in sources), [
        s[:60] for s in sources if not s.startswith("data:")
    ]
    assert text.count("data:image/png;base64") == len(pngs)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    assert embedded == {p.read_bytes() for p in pngs}, "each figure file embedded as it is"
    assert not re.search(r"""\bhref\s*=\s*["']?(?!https?:|#)""", text), "no link to a local file"


@pytest.mark.slow  # runs the experiment and writes its report (module fixture)
def test_report_md_names_every_scenario_and_links_every_figure(reported: Reported) -> None:
    md = reported.md.read_text(encoding="utf-8")
    exp = load_experiment(reported.path)
    for scenario in exp.scenarios:
        assert scenario.name in md, scenario.name
    figures = reported.folder / "figures"
    pngs = sorted(figures.glob("*.png"))
    for png in pngs:
        assert f"](figures/{png.name})" in md, png.name
    assert not list(figures.glob("*.svg")), "SVG only when asked"
    linked = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert len(linked) == len(pngs)
    for link in linked:
        assert (reported.folder / link).is_file(), link
    assert f"{REPLICATIONS} replications each" in md
    if exp.model == "trust":
        assert f"{STEPS} weeks per run" in md
    else:
        assert "weeks per run" not in md  # a model without weeks
    manifest = json.loads((reported.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["experiment_sha256"] in md
    for outcome in exp.outcomes:
        assert outcome in md, outcome


@pytest.mark.slow  # runs the experiment and writes its report (module fixture)
def test_report_states_the_question_from_the_file_header(reported: Reported) -> None:
    question = _question(reported.path)
    assert question == describe_file(reported.path)
    first = reported.path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
    assert question.startswith(first)
    assert "?" in question
    md = reported.md.read_text(encoding="utf-8")
    page = html.unescape(reported.html.read_text(encoding="utf-8"))
    assert question in md
    assert question in page
    assert md.index("## The question") < md.index(question) < md.index("## What was run")


# Every experiment: its figures --------------------------------------------------------


def _is_colourbar(ax: Axes) -> bool:
    return hasattr(ax, "_colorbar")


def _scenario_colours_in(name: str, ax: Axes) -> list[tuple[str, str]]:
    """(scenario, colour) pairs that a figure draws, read back from its artists."""
    found: list[tuple[str, str]] = []
    if name.startswith("time_"):
        found += [(line.get_label(), to_hex(line.get_color())) for line in ax.get_lines()]
    elif name.startswith("by_"):
        for c in ax.containers:
            if isinstance(c, ErrorbarContainer):
                found.append((c.get_label(), to_hex(c.lines[0].get_color())))
    elif name.startswith("distribution_"):
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        for c in ax.collections:
            if isinstance(c, PathCollection) and len(c.get_offsets()):
                i = round(float(np.mean(np.asarray(c.get_offsets())[:, 0])))
                found.append((ticks[i], to_hex(c.get_facecolor()[0], keep_alpha=False)))
    elif name.startswith("differences_"):
        ticks = {
            float(y): t.get_text()
            for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
        }
        for line in ax.get_lines():
            if len(line.get_xdata()) == 1:
                a = ticks[float(line.get_ydata()[0])].split(" - ")[0]
                found.append((a, to_hex(line.get_color())))
    elif name.startswith("winner_"):
        legend = ax.get_legend()
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            if text.get_text().endswith(" higher"):
                scenario = text.get_text().removesuffix(" higher")
                found.append((scenario, to_hex(handle.get_facecolor(), keep_alpha=False)))
    return found


@pytest.fixture(scope="module")
def inputs(reported: Reported) -> tuple[ResultsTables, Comparison, report_figures.NetworkTables]:
    """What build_figures draws from, read once per experiment (networks re-run once)."""
    tables = load_results(reported.folder)
    return tables, comparison(tables), median_networks(tables)


def _build(
    inputs: tuple[ResultsTables, Comparison, report_figures.NetworkTables], size: str = "slide"
) -> tuple[list[document.FigureEntry], list[str]]:
    tables, comp, networks = inputs
    entries = report_figures.build_figures(
        tables.runs,
        tables.results,
        tables.steps,
        comp,
        networks,
        size=size,
        sensitivity=sensitivity_results(tables),
        facts=validation_results(tables),
    )
    return entries, tables.scenarios


@pytest.fixture(scope="module")
def built(
    inputs: tuple[ResultsTables, Comparison, report_figures.NetworkTables],
) -> tuple[list[document.FigureEntry], list[str]]:
    """The experiment's figures as objects (slide size), built once per experiment."""
    return _build(inputs)


@pytest.mark.slow  # runs the experiment and writes its report (module fixture)
def test_every_axes_has_labels_and_n_and_every_scenario_one_colour(
    built: tuple[list[document.FigureEntry], list[str]],
) -> None:
    entries, names = built
    colours = plots.scenario_colours(names)
    assert len(set(colours.values())) == len(names), "one colour per scenario"
    seen: dict[str, set[str]] = {}
    problems = []
    for entry in entries:
        assert entry.caption.strip(), entry.name
        for ax in entry.figure.axes:
            if _is_colourbar(ax):
                assert ax.get_ylabel() or ax.get_xlabel(), f"{entry.name}: colour bar label"
                continue
            if entry.name.startswith("network_"):
                assert not ax.axison, entry.name
                assert re.fullmatch(r"week \d+", ax.get_title()), entry.name
                continue
            if entry.name == "stylized_facts":  # its panels count teams, runs or pairs
                if ax.axison:  # a fact that could not be checked says so, with no axes
                    assert re.search(r"\(n = \d+ (teams|runs|pairs)", ax.get_title()), entry.name
                    assert ax.get_xlabel(), entry.name
                    assert ax.get_ylabel(), entry.name
                continue
            if not ax.get_xlabel() or not ax.get_ylabel():
                problems.append(f"{entry.name}: axis label missing")
            if f"n = {REPLICATIONS}" not in ax.get_title():
                problems.append(f"{entry.name}: title {ax.get_title()!r} lacks n = {REPLICATIONS}")
            for scenario, colour in _scenario_colours_in(entry.name, ax):
                seen.setdefault(scenario, set()).add(colour)
    assert not problems, "\n".join(problems)
    if len(names) > 1:  # one scenario has no colour to keep (lines may stand for values)
        assert seen, "the figures show scenarios in colour"
    for scenario, found in seen.items():
        assert found == {colours[scenario].lower()}, (scenario, found)


@pytest.mark.slow  # runs the experiment and writes its report (module fixture)
def test_each_experiment_gets_the_figures_of_its_design(
    reported: Reported, built: tuple[list[document.FigureEntry], list[str]]
) -> None:
    entries, names = built
    got = [e.name for e in entries]
    assert len(got) == len(set(got)), "figure names are unique (they are file names)"
    exp = load_experiment(reported.path)
    swept = [k for k, v in (exp.sweep.parameters if exp.sweep else {}).items() if len(v) > 1]
    for outcome in exp.outcomes:
        base = outcome.removesuffix("_avg")
        if exp.sensitivity is not None:
            assert f"sensitivity_{outcome}" in got  # instead of the pooled distributions
        elif len(swept) == 1:
            assert f"by_{swept[0]}_{outcome}" in got
        elif len(swept) == 2 and len(names) == 1:
            assert f"lines_{outcome}" in got  # one scenario: a line per value (March's Fig. 1)
        elif len(swept) == 2:
            assert f"winner_{outcome}" in got
            for name in names:
                assert f"heatmap_{outcome}_{name}" in got
        else:
            assert f"distribution_{outcome}" in got
            assert f"differences_{outcome}" in got
            if exp.keep_steps:
                assert f"time_{base}" in got
    for name in names[:6] if exp.model == "trust" else ():
        assert f"network_{name}" in got
    on_disk = {p.stem for p in (reported.folder / "figures").glob("*.png")}
    assert on_disk == set(got)


@pytest.mark.slow  # runs the experiment and writes its report (module fixture)
def test_slide_figures_show_every_title_label_and_legend(
    built: tuple[list[document.FigureEntry], list[str]],
) -> None:
    entries, _ = built
    problems = [f"{e.name}: {m}" for e in entries for m in misfits(e.figure)]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_column_size_figures_fit_a_paper_column(
    inputs: tuple[ResultsTables, Comparison, report_figures.NetworkTables],
) -> None:
    entries, _ = _build(inputs, size="column")
    problems = []
    for entry in entries:
        w, _ = entry.figure.get_size_inches()
        assert w <= 7.0 + 1e-9, entry.name  # a column, or two for the networks
        if entry.name == "stylized_facts":  # four panels: a column wide, taller
            assert w == pytest.approx(plots.SIZES["column"][0])
        elif not entry.name.startswith("network_"):
            assert tuple(entry.figure.get_size_inches()) == pytest.approx(plots.SIZES["column"])
        problems += [f"{entry.name}: {m}" for m in misfits(entry.figure)]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


# The command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "breach_recovery"
    path = ROOT / "experiments" / "breach_recovery.toml"
    run(path, out=folder, replications=REPLICATIONS, steps=STEPS, workers=1, progress=False)
    return folder


@pytest.mark.slow
def test_cli_report_writes_the_report(small_results: Path, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    shutil.copytree(small_results, folder)
    # An earlier report showed a figure of another outcome; the user keeps own files.
    figures = folder / "figures"
    figures.mkdir(exist_ok=True)
    # A report of before records were kept wrote SVG too; a PDF from `trustsim plot` stays.
    old = ("time_an_old_outcome.png", "time_an_old_outcome.svg", "time_mean_skill.svg")
    for name in (*old, "my_annotated.png", "time_mean_skill.pdf"):
        (figures / name).write_bytes(b"old")
    (figures / "notes.txt").write_text("mine", encoding="utf-8")
    (folder / "report.md").write_text(
        "![old](figures/time_an_old_outcome.png)\n![](figures/time_mean_skill.png)\n",
        encoding="utf-8",
    )
    done = trustsim("report", str(folder))
    assert done.returncode == 0, done.stderr
    assert (folder / "report.md").is_file()
    assert (folder / "report.html").is_file()
    assert "report.html" in done.stdout
    assert "Traceback" not in done.stderr
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert not list(figures.glob("time_an_old_outcome.*")), "the old report's figure is gone"
    assert not (figures / "time_mean_skill.svg").exists(), "SVG is no longer asked for"
    assert (figures / "time_mean_skill.pdf").read_bytes() == b"old"
    assert (figures / "my_annotated.png").read_bytes() == b"old"
    assert (figures / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (figures / "time_mean_skill.png").stat().st_size > 1000  # drawn again
    linked = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert linked
    assert all((folder / link).is_file() for link in linked)


@pytest.mark.slow
def test_cli_report_saves_each_figure_once_per_format_asked(
    small_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    from sim import cli

    # Figures are saved in forked processes: each save is logged to a file they share.
    log = tmp_path / "saved.log"
    savefig = Figure.savefig

    def counting(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> None:
        with log.open("a", encoding="utf-8") as f:
            f.write(f"{fname}\n")
        savefig(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", counting)
    plain, asked = tmp_path / "plain", tmp_path / "asked"
    for folder in (plain, asked):
        shutil.copytree(small_results, folder)
    assert cli.main(["report", str(plain)]) == 0
    assert cli.main(["report", str(asked), "--format", "svg"]) == 0
    saved = [Path(line) for line in log.read_text(encoding="utf-8").splitlines()]
    for folder, formats in ((plain, {".png"}), (asked, {".png", ".svg"})):
        here = [p for p in saved if p.is_relative_to(folder)]
        assert len(here) == len(set(here)), "a figure saved twice"
        names = {p.stem for p in here}
        assert names
        expected = [folder / "figures" / f"{n}{f}" for n in names for f in formats]
        assert sorted(here) == sorted(expected)
        on_disk = {p.relative_to(folder) for p in (folder / "figures").iterdir()}
        assert on_disk == {p.relative_to(folder) for p in here}
    svg = (asked / "figures" / "time_mean_skill.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    page = (asked / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page  # report.html embeds the PNG files
    assert "image/svg" not in page


def report_files(folder: Path) -> dict[str, tuple[int, int]]:
    """The files a report and a sweep's comparison write, each with its size and time."""
    names = ("report.md", "report.html", "report_key.json", "compare.md", "compare.csv")
    paths = [*(folder / n for n in names if (folder / n).exists()), *folder.glob("figures/*")]
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(paths)
    }


UP_TO_DATE = "report up to date (results, experiment and code unchanged): "

# Modules that only drawing needs: a report that is up to date imports none of them.
DRAWING = ("matplotlib", "sim.reporting.plots", "sim.reporting.report", "sim.experiments.draw")


@pytest.mark.slow
def test_cli_report_is_drawn_again_only_when_forced_or_its_files_changed(
    small_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim import cli

    folder = tmp_path / "results"
    shutil.copytree(small_results, folder)
    assert cli.main(["report", str(folder)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {folder / 'report.html'}")
    drawn = report_files(folder)
    assert "figures/time_mean_skill.png" in drawn
    # Again, as a user runs it: not drawn, and nothing that draws is imported.
    script = (
        "import sys; from sim import cli; code = cli.main(['report', sys.argv[1]]); "
        f"print([m for m in {DRAWING!r} if m in sys.modules]); sys.exit(code)"
    )
    again = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"{UP_TO_DATE}{folder / 'report.html'} (--force draws it again)",
        "[]",
    ]
    assert report_files(folder) == drawn
    assert cli.main(["report", str(folder), "--force"]) == 0
    assert capsys.readouterr().out.startswith("wrote ")
    forced = report_files(folder)
    assert forced.keys() == drawn.keys()
    assert all(forced[name][1] > drawn[name][1] for name in drawn), "every file written again"
    # A file the report wrote changed since (another program, `trustsim plot`): drawn again.
    edited = folder / "figures" / "time_mean_skill.png"
    edited.write_bytes(b"edited")
    assert cli.main(["report", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("wrote ")
    assert edited.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_a_sweep_draws_its_report_again_only_when_the_store_file_or_formats_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim import cli

    path = tmp_path / "small.toml"
    path.write_text(SMALL_EXPERIMENT, encoding="utf-8")
    out = tmp_path / "out"
    html_line = f"report: {out / 'report.html'} (and report.md, figures/)"

    def sweep(*options: str) -> str:
        args = ["sweep", str(path), "--out", str(out), "--workers", "1", "--resume", *options]
        assert cli.main(args) == 0
        return capsys.readouterr().out

    first = sweep()
    assert html_line in first
    drawn = report_files(out)
    again = sweep()
    assert f"{UP_TO_DATE}{out / 'report.html'}" in again
    assert html_line not in again
    assert report_files(out) == drawn, "nothing written again"
    comparison = (out / "compare.md").read_text(encoding="utf-8")
    assert comparison in first
    assert comparison in again, "the comparison is printed as it was written"

    # The same run run again (removed from the store, then resumed): the store changed.
    with sqlite3.connect(out / "results.sqlite") as db:
        for table in ("runs", "summaries", "step_arrays"):
            db.execute(f"DELETE FROM {table} WHERE run_id = 'peer_led/p0/r1'")
    db.close()
    rerun = sweep()
    assert html_line in rerun
    assert UP_TO_DATE not in rerun

    # Runs added.
    more = sweep("--replications", "3")
    assert html_line in more
    assert "3 replications each" in (out / "report.md").read_text(encoding="utf-8")
    assert UP_TO_DATE in sweep("--replications", "3")

    # The experiment file changed (its question); nothing is run.
    question = "Does peer-led coaching teach more than no coaching in six weeks, or less?"
    first_line = SMALL_EXPERIMENT.splitlines()[0]
    path.write_text(SMALL_EXPERIMENT.replace(first_line, f"# {question}"), encoding="utf-8")
    changed = sweep("--replications", "3")
    assert html_line in changed
    assert question in (out / "report.md").read_text(encoding="utf-8")

    # SVG asked, then no longer.
    pngs = sorted(p.stem for p in out.glob("figures/*.png"))
    assert html_line in sweep("--replications", "3", "--format", "svg")
    assert sorted(p.stem for p in out.glob("figures/*.svg")) == pngs
    assert UP_TO_DATE in sweep("--replications", "3", "--format", "svg")
    assert html_line in sweep("--replications", "3")
    assert not list(out.glob("figures/*.svg")), "the SVG files of the earlier report are gone"
    assert sorted(p.stem for p in out.glob("figures/*.png")) == pngs


@pytest.mark.slow
def test_cli_plot_svg_for_one_outcome(small_results: Path, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    shutil.copytree(small_results, folder)
    done = trustsim("plot", str(folder), "--format", "svg", "--outcome", "mean_skill")
    assert done.returncode == 0, done.stderr
    written = [Path(line.removeprefix("wrote ")) for line in done.stdout.splitlines()]
    assert written
    assert all(p.suffix == ".svg" and p.is_file() for p in written)
    names = {p.stem for p in written}
    assert {"time_mean_skill", "distribution_mean_skill", "differences_mean_skill"} <= names
    assert not [n for n in names if "trust" in n and not n.startswith("network_")]
    assert not list((folder / "figures").glob("*.png"))
    svg = (folder / "figures" / "time_mean_skill.svg").read_text(encoding="utf-8")
    # a plot of another outcome adds its files and removes none
    again = trustsim("plot", str(folder), "--format", "svg", "--outcome", "within_team_trust")
    assert again.returncode == 0, again.stderr
    assert set(written) <= set((folder / "figures").glob("*.svg"))
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg


def test_cli_plot_without_a_store_exits_2_with_one_line(tmp_path: Path) -> None:
    done = trustsim("plot", str(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error:")
    assert "results store" in lines[0]
    assert "Traceback" not in done.stderr


def test_cli_plot_unknown_outcome_exits_2(
    small_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim import cli

    assert cli.main(["plot", str(small_results), "--outcome", "no_such_outcome"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no_such_outcome" in err[0]


@pytest.mark.slow
def test_cli_animate_writes_a_gif_with_one_frame_per_drawn_week(tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "anim" / "x.gif"
    done = trustsim("animate", "peer_led", "--out", str(out), "--steps", "6", "--every", "2")
    assert done.returncode == 0, done.stderr
    with Image.open(out) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 4  # weeks 0, 2, 4, 6
    assert "(4 frames)" in done.stdout


def test_cli_animate_refuses_a_non_gif_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim import cli

    out = tmp_path / "x.png"
    assert cli.main(["animate", "peer_led", "--out", str(out), "--steps", "6"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert ".gif" in lines[0], lines
    assert not out.exists()


def _small_figure() -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


def _broken_figure() -> Any:
    raise ValueError("this figure cannot be drawn")


def test_figures_drawn_in_several_processes_are_all_saved_and_a_failure_is_an_error(
    tmp_path: Path,
) -> None:
    from sim.reporting.document import FigureEntry, save_figures

    entries = [FigureEntry(f"f{i}", "", _small_figure) for i in range(9)]
    written = save_figures(entries, tmp_path / "ok", ["png"])
    assert sorted(p.name for p in written) == sorted(f"f{i}.png" for i in range(9))
    assert all(p.stat().st_size > 0 for p in written)
    broken = [*entries, FigureEntry("broken", "", _broken_figure)]
    with pytest.raises(RuntimeError, match="saving the figures failed"):
        save_figures(broken, tmp_path / "bad", ["png"])


GRID_WITH_PEERS = """# Where does a sponsored coach keep its trust?
scenarios = ["top_down_internal", "peer_led"]
replications = 2
seed = 5
steps = 8
keep_steps = 0
outcomes = ["trust_in_coach", "mean_skill"]

[sweep]
method = "factorial"
[sweep.parameters]
management_trust_scale = [0.3, 1.0]
propensity_mean = [0.4, 0.6]
"""


def test_an_outcome_that_does_not_apply_gets_no_figure_and_one_sentence(tmp_path: Path) -> None:
    """trust_in_coach under peer_led (no coach): no empty heatmap, no +nan winner map."""
    exp = tmp_path / "grid.toml"
    exp.write_text(GRID_WITH_PEERS, encoding="utf-8")
    out = tmp_path / "out"
    done = trustsim("sweep", str(exp), "--out", str(out))
    assert done.returncode == 0, done.stderr
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    assert "heatmap_trust_in_coach_top_down_internal" in figures
    assert "heatmap_trust_in_coach_peer_led" not in figures
    assert "winner_trust_in_coach" not in figures
    assert {"heatmap_mean_skill_peer_led", "winner_mean_skill"} <= figures
    assert {"network_top_down_internal", "network_peer_led"} <= figures  # on mean_skill
    text = (out / "report.md").read_text(encoding="utf-8")
    sentence = "trust_in_coach does not apply to peer_led"
    assert sentence in text
    assert sentence in done.stdout
    assert "n = 0 runs" not in text
    assert "+nan" not in text


def test_a_sweep_of_levels_names_what_else_changes_with_them() -> None:
    """Levels 1 to 4 over 48 members also change team size and the number of coaches."""
    runs = pd.DataFrame(
        {"point": [0, 1, 2, 3], "members": 48, "levels": [1, 2, 3, 4], "coach": "internal"}
    )
    text = report.structure_changes(runs, ["levels"])
    assert text.startswith("Besides levels, the organization changes")
    assert "team size: 48 (levels = 1), 6-7 (levels = 2), 4 (levels = 3), 3 (levels = 4)" in text
    assert "coaches: 1 (levels = 1)" in text
    assert "16 (levels = 4)" in text
    same = runs.assign(levels=2, trust_gain=[0.1, 0.2, 0.3, 0.4])
    assert report.structure_changes(same, ["trust_gain"]) == ""
    none = runs.assign(coach="none")
    assert "coaches" not in report.structure_changes(none, ["levels"])


def test_a_sampled_sweep_gets_partial_dependence_not_a_forest_of_every_point(
    tmp_path: Path,
) -> None:
    exp = tmp_path / "lhs.toml"
    exp.write_text(
        'scenarios = ["top_down_internal", "peer_led"]\nreplications = 2\nseed = 4\nsteps = 8\n'
        'keep_steps = 0\noutcomes = ["mean_skill"]\n[sweep]\nmethod = "lhs"\nsamples = 16\n'
        "[sweep.parameters]\nmanagement_trust_scale = { min = 0.2, max = 1.0 }\n"
        "propensity_mean = { min = 0.3, max = 0.7 }\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    done = trustsim("sweep", str(exp), "--out", str(out))
    assert done.returncode == 0, done.stderr
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    assert "partial_mean_skill" in figures
    assert "differences_mean_skill" not in figures
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "mean skill against each sampled parameter" in md
    assert "## Regression" in (out / "compare.md").read_text(encoding="utf-8")
