"""Whether a results folder's report is up to date, from the record of what it was drawn from.

A report is drawn from the results store, the manifest (the experiment file's text,
the command-line overrides, the commit and versions it quotes), the outcomes and
reference analysed, the figure formats, and the code that draws it with its libraries.
write_report records digests of those, and the size and time of every file it wrote,
in report_key.json beside the report. A report whose inputs are the same and whose
files are as it left them need not be drawn again. Checking reads none of the tables
and imports no matplotlib, so a sweep with nothing left to run stays quick.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from sim import __version__
from sim.experiments.compare import ResultsTables, analysed, read_manifest
from sim.experiments.store import ResultsStore

__all__ = [
    "RECORD",
    "Record",
    "figure_formats",
    "forget",
    "read_record",
    "record",
    "report_inputs",
    "up_to_date",
]

RECORD = "report_key.json"
SIM_ROOT = Path(__file__).resolve().parent.parent
# Every sweep writes its own times, also one that runs nothing: a report keeps those of
# the sweep it was drawn after.
SWEEP_TIMES = ("started", "ended", "runs_done", "runs_failed")
# The libraries that compute the statistics and draw the figures.
LIBRARIES = ("numpy", "pandas", "scipy", "matplotlib", "SALib")

Record = dict[str, Any]


def figure_formats(asked: Sequence[str] = ()) -> tuple[str, ...]:
    """The formats a report saves its figures in: PNG (report.html embeds it), then those asked."""
    return tuple(dict.fromkeys(("png", *asked)))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _code_digest() -> str:
    """A digest of every source file of sim/: the simplest honest cover of the drawing code."""
    digest = hashlib.sha256()
    for path in sorted(SIM_ROOT.rglob("*.py")):
        digest.update(path.relative_to(SIM_ROOT).as_posix().encode() + b"\0")
        digest.update(_sha256(path.read_bytes()).encode())
    return digest.hexdigest()


def _inputs(
    store: str,
    manifest: dict[str, Any],
    outcomes: Sequence[str],
    reference: str | None,
    formats: Sequence[str],
) -> dict[str, Any]:
    quoted = {k: v for k, v in manifest.items() if k not in SWEEP_TIMES}
    versions: dict[str, str | None] = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    return {
        "store": store,
        "manifest": _sha256(json.dumps(quoted, sort_keys=True).encode()),
        "outcomes": list(outcomes),
        "reference": reference,
        "formats": list(figure_formats(formats)),
        "code": _code_digest(),
        "trustsim": __version__,
        "versions": versions,
    }


def report_inputs(tables: ResultsTables, formats: Sequence[str] = ()) -> dict[str, Any]:
    """What a report drawn from these tables, in these formats, is drawn from."""
    return _inputs(tables.store_digest, tables.manifest, tables.outcomes, tables.reference, formats)


def _current_inputs(folder: Path, formats: Sequence[str]) -> dict[str, Any]:
    """What a report of the folder would be drawn from now (without reading its tables)."""
    manifest = read_manifest(folder)
    outcomes, reference = analysed(manifest)
    return _inputs(ResultsStore.digest(folder), manifest, outcomes, reference, formats)


def _stat(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def read_record(folder: Path) -> Record | None:
    """The record of the report last drawn in the folder (None when there is none)."""
    try:
        found = json.loads((Path(folder) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _intact(folder: Path, files: dict[str, Any]) -> bool:
    """Every file still there, as large and as old as when it was recorded."""
    return all(
        (now := _stat(folder / name)) is not None and now == stat for name, stat in files.items()
    )


def up_to_date(folder: str | Path, formats: Sequence[str] = (), also: Sequence[str] = ()) -> bool:
    """Whether the folder's report would come out the same if drawn now.

    True when its record's inputs equal today's (same store content, manifest apart from
    the sweep's times, outcomes, formats, code and libraries), every file it lists is as
    it was written, and it lists each of `also` (files written with the report, such as
    compare.md, that the caller would otherwise write again).
    """
    folder = Path(folder)
    found = read_record(folder)
    if found is None or not ResultsStore.exists(folder):
        return False
    files = found.get("files")
    if not isinstance(files, dict) or not set(also) <= set(files):
        return False
    return found.get("inputs") == _current_inputs(folder, formats) and _intact(folder, files)


def forget(folder: Path) -> None:
    """Remove the record: the report is being drawn again (or is no longer the store's)."""
    (Path(folder) / RECORD).unlink(missing_ok=True)


def record(
    folder: Path, inputs: dict[str, Any], files: Sequence[Path], earlier: Record | None = None
) -> None:
    """Record the report just drawn from `inputs`, and the files written with it.

    Files of the `earlier` record that were written from the same inputs and are as
    they were (compare.md when only the report was drawn again) stay listed.
    """
    folder = Path(folder)
    listed: dict[str, Any] = {}
    if earlier is not None and earlier.get("inputs") == inputs:
        old = earlier.get("files")
        for name, stat in (old if isinstance(old, dict) else {}).items():
            if _stat(folder / name) == stat:
                listed[name] = stat
    for path in files:
        listed[Path(path).relative_to(folder).as_posix()] = _stat(Path(path))
    tmp = folder / f"{RECORD}.tmp"
    text = json.dumps({"inputs": inputs, "files": listed}, indent=2, sort_keys=True)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(folder / RECORD)
