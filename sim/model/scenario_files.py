"""Reading scenario files: TOML, `preset`, `extends`, and every problem as one line.

Scenario files are TOML: `preset = "..."` starts from a named regime, `extends =
"other.toml"` starts from another file, any parameter can then be set, and `[[events]]`
schedules events. Every problem is reported as one line naming the file, the key, the
value and what is allowed (validate at the boundary; the model trusts what it is
given). The Scenario these files become lives in sim.model.scenario.
"""

from __future__ import annotations

import errno
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.model.scenario import (
    MAX_DESCRIPTION,
    PRESETS,
    Scenario,
    ScenarioError,
    did_you_mean,
    errors_to_lines,
    format_value,
    scenario_from_dict,
)

__all__ = [
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "describe_file",
    "file_problem",
    "load_scenario",
    "load_scenario_text",
    "parse_toml",
    "read_text",
    "read_toml",
]

# A scenario or experiment file is a few kB; a bigger one is a mistake (or an attack on
# the figures, which draw a scenario's name).
MAX_FILE_BYTES = 1_000_000
MAX_EXTENDS = 32  # files in one `extends` chain


def describe_file(path: Path) -> str:
    """The comment block at the top of a scenario file, as one paragraph."""
    return comment_block(read_text(path, str(path)))


def comment_block(text: str) -> str:
    lines = []
    for raw in text.splitlines():
        s = raw.strip()
        if not s.startswith("#"):
            break
        lines.append(s.lstrip("#").strip())
    text = " ".join(x for x in lines if x)
    # A description is shown whole: a long comment is cut, not refused.
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a TOML file, in words (None when it can).

    Only a regular file is opened: a pipe or a device would wait for ever.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link that leads back to itself (a loop)"
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a pipe, a device or a socket): give a TOML file"
    if info.st_size > MAX_FILE_BYTES:
        return (
            f"is {info.st_size:,} bytes: a scenario or experiment file is at most "
            f"{MAX_FILE_BYTES:,} bytes"
        )
    return None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parsed TOML text; malformed text is one line naming `source`.

    Raises:
        ScenarioError: malformed, or nested too deeply for the parser.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{source}: malformed TOML: {exc}"]) from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise ScenarioError([f"{source}: malformed TOML: {exc}"]) from None
    except RecursionError:
        raise ScenarioError(
            [f"{source}: malformed TOML: arrays or tables nested too deeply to read"]
        ) from None


def read_text(path: Path, source: str) -> str:
    """The UTF-8 text of a scenario or experiment file (a byte-order mark is allowed).

    Raises:
        ScenarioError: one line: not found, a folder, a pipe, too big, not UTF-8.
    """
    problem = file_problem(path)
    if problem:
        raise ScenarioError([f"{source}: {problem}"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([f"{source}: cannot be read ({exc.strerror})"]) from None
    try:
        return data.decode("utf-8-sig")  # editors on Windows may start a file with a BOM
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [
                f"{source}: is not UTF-8 text (byte 0x{data[exc.start]:02x} at position "
                f"{exc.start}): save it as UTF-8"
            ]
        ) from None


def read_toml(path: Path, source: str) -> dict[str, Any]:
    """A TOML file's table; every reason it cannot be read is one line naming `source`."""
    return parse_toml(read_text(path, source), source)


def own_errors(source: str, raw: dict[str, Any]) -> list[str]:
    """Problems with the keys a file sets itself, named after that file.

    Only field-level problems: whether values fit together (a model-level check) is
    judged once everything is merged.
    """
    data = {k: v for k, v in raw.items() if k not in ("preset", "extends")}
    for key in ("events", "surveys"):
        if isinstance(data.get(key), list):
            data[key] = tuple(data[key])
    try:
        Scenario.model_validate(data, strict=True)
    except ValidationError as err:
        return errors_to_lines(source, err, data, fields_only=True)
    return []


def resolve(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """The merged raw dict of a file, following `preset` and `extends`.

    Every problem of every file in the chain is collected, each named after the file
    that has it, and raised together.
    """
    source = str(path)
    if path.resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path.resolve()))
        raise ScenarioError([f"{source}: extends = cycle: {cycle}"])
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            [
                f"{chain[0]}: extends: a chain of more than {MAX_EXTENDS} files "
                f"({chain[0].name} -> {chain[1].name} -> ... -> {path.name}); "
                "start from fewer files"
            ]
        )
    raw = read_toml(path, source)
    return resolve_raw(raw, source, path.parent, (*chain, path.resolve()))


def resolve_raw(
    raw: dict[str, Any], source: str, base: Path, chain: tuple[Path, ...]
) -> dict[str, Any]:
    """The merged raw dict of parsed TOML, `extends` relative to `base`."""
    merged: dict[str, Any] = {}
    problems: list[str] = []
    if "extends" in raw:
        parent = raw.pop("extends")
        if not isinstance(parent, str):
            problems.append(
                f"{source}: extends = {format_value(parent)} is not allowed: a file path"
            )
        else:
            parent_path = (base / parent).resolve()
            problem = file_problem(parent_path)
            if problem:
                problems.append(
                    f"{source}: extends = {format_value(parent)}: {problem} ({parent_path})"
                )
            else:
                try:
                    merged.update(resolve(parent_path, chain))
                except ScenarioError as err:
                    problems.extend(err.lines)
                merged.pop("name", None)
                merged.pop("description", None)
    if "preset" in raw:
        preset = raw.pop("preset")
        if not isinstance(preset, str) or preset not in PRESETS:
            allowed = ", ".join(f'"{p}"' for p in PRESETS)
            problems.append(
                f"{source}: preset = {format_value(preset)} is not a preset"
                f"{did_you_mean(str(preset), PRESETS)}; allowed: {allowed}"
            )
        else:
            merged.update(PRESETS[preset])
    lists = [key for key in ("events", "surveys") if key in raw and not isinstance(raw[key], list)]
    for key in lists:
        problems.append(
            f"{source}: {key} = {format_value(raw[key])} is not allowed: a list of [[{key}]] tables"
        )
    if not lists:
        problems.extend(own_errors(source, raw))
    if problems:
        raise ScenarioError(problems)
    merged.update(raw)
    return merged


def load_scenario_text(
    text: str, name: str = "uploaded", base: str | Path = ".", **overrides: Any
) -> Scenario:
    """Validate scenario TOML given as text (e.g. an upload); `extends` is relative to base.

    Nothing in the text is evaluated: it is parsed as TOML and validated like a file.

    Raises:
        ScenarioError: one line per problem, naming `name`.
    """
    raw = parse_toml(text, name)
    data = resolve_raw(raw, name, Path(base), ())
    data.setdefault("name", Path(name).stem)
    if "description" not in data:
        data["description"] = comment_block(text)
    data.update(overrides)
    return scenario_from_dict(data, source=name)


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    """Load and validate a scenario file; keyword overrides are applied last.

    Raises:
        ScenarioError: one line per problem, naming the file, key, value and what is allowed.
    """
    path = Path(path)
    data = resolve(path, ())
    data.setdefault("name", path.stem)
    if "description" not in data and path.exists():
        data["description"] = describe_file(path)
    data.update(overrides)
    return scenario_from_dict(data, source=str(path))
