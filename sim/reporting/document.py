"""A report as a document: its blocks as Markdown and one self-contained HTML file, and its figures.

A Report is a title and blocks (headings, paragraphs, lists, tables, figures, text);
a FigureEntry is a figure to draw with its file name and caption, drawn when first
asked for; save_figures draws and saves them (in several processes where it can).
What a report says is its author's (sim.reporting.report for an experiment,
sim.reporting.calibration for a calibration); this module only lays it out.
"""

from __future__ import annotations

import base64
import html
import multiprocessing
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from sim.methods import analysis

__all__ = ["FigureEntry", "Report", "linked_figures", "save_figures"]


@dataclass
class FigureEntry:
    """A figure with its file name (no extension) and a caption saying what to look for.

    `draw` makes the figure, when it is first asked for (`figure`): a report's figures
    can then be drawn in several processes at once.
    """

    name: str
    caption: str
    draw: Callable[[], Figure]

    @cached_property
    def figure(self) -> Figure:
        """The figure, drawn on first use."""
        return self.draw()


def save_figures(
    entries: Sequence[FigureEntry], figure_dir: Path, formats: Sequence[str]
) -> list[Path]:
    """Save the figures into figure_dir in each format, close them; return the files.

    Drawing and encoding the figures is most of a report's time, and each is drawn on
    its own: where the system can fork, the figures are shared out among processes,
    one per core, each drawing and saving its share (they inherit the tables the
    figures are drawn from; nothing is pickled).
    """
    figure_dir.mkdir(parents=True, exist_ok=True)
    paths = [[figure_dir / f"{e.name}.{fmt}" for fmt in formats] for e in entries]
    workers = min(os.cpu_count() or 1, len(entries) // 4)
    # Forking a process that has threads (a notebook, a test runner) can deadlock: as
    # the sweep runner does, fork only on Linux from a process with no other thread.
    forkable = sys.platform == "linux" and threading.active_count() == 1
    if workers > 1 and forkable:
        ctx = multiprocessing.get_context("fork")
        with warnings.catch_warnings():  # matplotlib's threads are fork-safe here
            warnings.filterwarnings("ignore", "This process .* is multi-threaded")
            children = [
                ctx.Process(target=_save_share, args=(entries, paths, k, workers))
                for k in range(workers)
            ]
            for child in children:
                child.start()
        for child in children:
            child.join()
        failed = [c.exitcode for c in children if c.exitcode != 0]
        if failed:
            raise RuntimeError(f"saving the figures failed (exit codes {failed})")
    else:
        try:
            _save_share(entries, paths, 0, 1)
        except Exception as exc:  # the same error as from the processes, with its cause
            raise RuntimeError(f"saving the figures failed ({exc})") from exc
    for entry in entries:
        if "figure" in entry.__dict__:  # drawn here (with one process)
            plt.close(entry.figure)
    return [path for group in paths for path in group]


def _save_share(
    entries: Sequence[FigureEntry], paths: list[list[Path]], share: int, shares: int
) -> None:
    """Save every `shares`-th figure from `share` on, in each of its formats."""
    for entry, group in list(zip(entries, paths, strict=True))[share::shares]:
        for path in group:
            entry.figure.savefig(path, dpi=200)
        if shares > 1:
            plt.close(entry.figure)


def linked_figures(markdown: str) -> list[str]:
    """The names of the figures a report.md links (figures/NAME.png), in order."""
    return re.findall(r"\]\(figures/([^)/]+)\.png\)", markdown)


@dataclass
class Report:
    """The report's blocks, rendered to Markdown and HTML."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, kind: str, content: Any) -> None:
        """Add a block: "h2", "p", "ul", "table" (DataFrame), "figure" (name, caption), "pre"."""
        self.blocks.append((kind, content))

    def markdown(self) -> str:
        """The report as Markdown (figures linked from figures/)."""
        out = [f"# {self.title}", ""]
        for kind, content in self.blocks:
            if kind == "h2":
                out += [f"## {content}", ""]
            elif kind == "p":
                out += [content, ""]
            elif kind == "ul":
                out += [*(f"- {item}" for item in content), ""]
            elif kind == "table":
                out += [analysis.to_markdown(content), ""]
            elif kind == "figure":
                name, caption = content
                out += [f"![{caption}](figures/{name}.png)", "", f"*{caption}*", ""]
            elif kind == "pre":
                out += ["```", content, "```", ""]
        return "\n".join(out)

    def html(self, figure_dir: Path) -> str:
        """The report as one HTML file with every figure embedded."""
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, content in self.blocks:
            if kind == "h2":
                body.append(f"<h2>{html.escape(content)}</h2>")
            elif kind == "p":
                body.append(f"<p>{html.escape(content)}</p>")
            elif kind == "ul":
                body.append(
                    "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in content) + "</ul>"
                )
            elif kind == "table":
                body.append(
                    content.to_html(
                        index=False,
                        na_rep="-",
                        float_format="{:.3f}".format,
                        border=0,
                        classes="table",
                    )
                )
            elif kind == "figure":
                name, caption = content
                data = base64.b64encode((figure_dir / f"{name}.png").read_bytes()).decode()
                body.append(
                    f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
            elif kind == "pre":
                body.append(f"<pre>{html.escape(content)}</pre>")
        style = (
            "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
            "padding:0 1rem;line-height:1.45;color:#222}"
            "table{border-collapse:collapse;font-size:.85rem;margin:1rem 0}"
            "td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right}"
            "th:first-child,td:first-child{text-align:left}"
            "img{max-width:100%}figure{margin:1.5rem 0}figcaption{font-style:italic;color:#444}"
            "pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;font-size:.8rem}"
        )
        return (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{style}</style></head>"
            f"<body>{''.join(body)}</body></html>\n"
        )
