"""The results store: an embedded SQLite database (WAL mode), written run by run.

Tables, all keyed by run_id (tidy):
- runs: run id, scenario name and hash, sweep point, replication, seed, status
  ("done" or "failed"), error text, wall time, and every parameter of the run;
- summaries: the run-level results (final values, means over the run, ...);
- steps: the kept per-step rows, keyed by (run_id, step). On disk each run's rows are
  one block of float64 values (table step_arrays, its columns named in step_columns),
  so that storing a run's hundred weeks costs one value to bind, not 1,700;
  `ResultsStore.table("steps")` gives the tidy table. Stores with a steps table and
  no step blocks (written by trustsim before the blocks) keep one SQL row per step
  and are read and extended as they are; rows an older trustsim added to a store with
  blocks are read with them.

- teams: with keep_teams, each run's front-line teams at the last week (run_id, team,
  within_team_trust, components, largest_component_share, mean_skill).
- survey: the answers of the scenarios' surveys (run_id, week, instrument, team,
  respondent, item, answer as given, the latent it came from), one row per item.

Each batch of runs is written in one transaction as it comes back from a worker (or,
without workers, as this process finishes it), so a kill loses at most the runs in flight, and a run
id is a primary key, so nothing is ever stored twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model import measures as registry
from sim.model.measures import LAST_TEAM_COLUMNS as TEAM_OUTCOMES
from sim.model.measures import RUN_OUTCOME_ENTRIES
from sim.model.scenario import Scenario, ScenarioError, parameters, scenario_from_dict
from sim.model.survey import ANSWER_COLUMNS as SURVEY_COLUMNS

__all__ = ["DB_NAME", "ResultsStore", "RunResult", "check_store", "read_manifest"]
# Run outcomes stored as 0/1 and read back as bools (sim.model.measures.RunOutcome.flag).
FLAGS = {o.name for o in RUN_OUTCOME_ENTRIES if o.flag}

DB_NAME = "results.sqlite"
LOCK_NAME = ".lock"  # in a results folder while a sweep writes it
RUN_COLUMNS = (
    "run_id",
    "scenario",
    "scenario_hash",
    "point",
    "swept",
    "replication",
    "seed",
    "status",
    "error",
    "wall_time",
)

RunResult = dict[str, Any]


def _sql_value(value: Any) -> Any:
    kind = type(value)
    if kind is float or kind is int or kind is str or value is None:  # most values: fast
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, tuple | list | dict):
        return json.dumps(value, default=str)
    return value


def _names(columns: Iterable[str]) -> str:
    """Column names for SQL, quoted (parameter names are any identifier)."""
    return ", ".join(f'"{c}"' for c in columns)


class ResultsStore:
    """One experiment's results on disk (results/<experiment>/results.sqlite)."""

    def __init__(
        self,
        folder: Path,
        measures: Iterable[str] | None = None,
        summary_keys: Iterable[str] | None = None,
        parameter_names: Iterable[str] | None = None,
        readonly: bool = False,
    ) -> None:
        """Open (or create) a folder's store; `readonly` only reads one that exists.

        A new store has the columns given, by default the measures' and the summary's
        (sim.model.measures); an existing one keeps its own.

        Raises:
            ScenarioError: the file there is not a results store, or is damaged.
        """
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        if self.path.exists() or readonly:
            check_store(self.folder)  # before anything could write to it
        self.measures = list(measures if measures is not None else registry.names())
        self.summary_keys = list(
            summary_keys if summary_keys is not None else registry.summary_keys()
        )
        self.parameter_names = list(
            parameter_names if parameter_names is not None else [*parameters(), "events"]
        )
        self._ids: set[str] | None = None
        self.step_rows = False  # True: a store of before 2026-12-02, one SQL row per step
        if readonly:
            self.db = _read_only(self.path)
            if not self._has_table("runs"):  # made by a sweep stopped before its first run
                self.db.close()
                raise ScenarioError(
                    [f"{self.path}: holds no runs yet (was its sweep stopped before the first?)"]
                )
            self._adopt_existing()
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        # 16 kB pages: a run's block of 105 weeks (13 kB) fits in one page, and storing
        # it costs half what it costs in 4 kB pages with their overflow chain (the file
        # is a fifth larger). Set before the file has tables; an existing store keeps its own.
        self.db.execute("PRAGMA page_size=16384")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._adopt_existing()
        self._create()
        columns = {
            "runs": [*RUN_COLUMNS, *self.parameter_names],
            "summaries": ["run_id", *self.summary_keys],
            "steps": ["run_id", "step", *self.measures],
            "step_arrays": ["run_id", "data"],
            "teams": ["run_id", "team", *TEAM_OUTCOMES],
            "survey": ["run_id", *SURVEY_COLUMNS],
        }
        self._insert_sql = {
            table: f"INSERT INTO {table} ({_names(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for table, cols in columns.items()
        }

    def _adopt_existing(self) -> None:
        """An existing store keeps its own columns (it may hold another model's results)."""

        def columns(table: str) -> list[str]:
            return [r[1] for r in self.db.execute(f"PRAGMA table_info({table})").fetchall()]

        runs, summaries, steps = columns("runs"), columns("summaries"), columns("steps")
        if runs:
            self.parameter_names = runs[len(RUN_COLUMNS) :]
        if summaries:
            self.summary_keys = summaries[1:]
        if columns("step_columns"):  # step blocks: a steps table beside them is also read
            names = self.db.execute("SELECT name FROM step_columns ORDER BY position").fetchall()
            self.measures = [r[0] for r in names][1:]
        elif steps:
            self.measures = steps[2:]
            self.step_rows = True

    def _create(self) -> None:
        params = "".join(f', "{p}"' for p in self.parameter_names)
        summary = "".join(f', "{k}"' for k in self.summary_keys)
        steps = "".join(f', "{m}"' for m in self.measures)
        with self.db:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, scenario TEXT, "
                "scenario_hash TEXT, point INTEGER, swept TEXT, replication INTEGER, seed INTEGER, "
                f"status TEXT, error TEXT, wall_time REAL{params})"
            )
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS summaries (run_id TEXT PRIMARY KEY{summary})"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS survey (run_id TEXT, week INTEGER, instrument TEXT, "
                "team INTEGER, respondent INTEGER, item INTEGER, answer INTEGER, latent REAL)"
            )
            teams = "".join(f', "{c}" REAL' for c in TEAM_OUTCOMES)
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS teams (run_id TEXT, team INTEGER{teams}, "
                "PRIMARY KEY (run_id, team))"
            )
            if self.step_rows:
                self.db.execute(
                    f"CREATE TABLE IF NOT EXISTS steps (run_id TEXT, step INTEGER{steps}, "
                    "PRIMARY KEY (run_id, step))"
                )
                return
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS step_arrays (run_id TEXT PRIMARY KEY, data BLOB)"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS step_columns (position INTEGER PRIMARY KEY, name TEXT)"
            )
            if not self.db.execute("SELECT count(*) FROM step_columns").fetchone()[0]:
                self.db.executemany(
                    "INSERT INTO step_columns VALUES (?, ?)", enumerate(["step", *self.measures])
                )

    @staticmethod
    def exists(folder: Path) -> bool:
        """True when the folder already holds a results database."""
        return (Path(folder) / DB_NAME).exists()

    @staticmethod
    def stored_runs(folder: Path) -> int:
        """How many runs (done or failed) the folder's store holds (0 without a store)."""
        if not ResultsStore.exists(folder):
            return 0
        check_store(folder)
        db = _read_only(Path(folder) / DB_NAME)
        try:
            return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])
        except sqlite3.OperationalError:  # created, but no table yet
            return 0
        finally:
            db.close()

    @staticmethod
    def digest(folder: Path) -> str:
        """A digest of what the folder's store holds, taken without reading its tables.

        A run is written with its wall time, measured as it ran, so a run added, run
        again or removed changes the runs' ids, statuses and wall times, or the tables'
        row counts; the digest hashes those. ("" without a store.)
        """
        if not ResultsStore.exists(folder):
            return ""
        check_store(folder)
        db = _read_only(Path(folder) / DB_NAME)
        digest = hashlib.sha256()
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            counts = [f"SELECT count(*) FROM {t}" for t in ("runs", "summaries", "steps")]
            if "step_arrays" in tables:  # its blocks: how many, and how many bytes
                counts[2] = "SELECT count(*), total(length(data)) FROM step_arrays"
            for query in counts:
                digest.update(f"{query} {db.execute(query).fetchone()}\n".encode())
            rows = db.execute("SELECT run_id, status, wall_time FROM runs ORDER BY run_id")
            for row in rows:
                digest.update(repr(row).encode())
        except sqlite3.OperationalError:  # created, but no table yet
            return ""
        finally:
            db.close()
        return digest.hexdigest()

    def write(self, result: RunResult) -> None:
        """Store one finished run (done or failed) atomically, replacing an earlier try."""
        self.write_many([result])

    def write_many(self, results: Iterable[RunResult]) -> None:
        """Store finished runs in one transaction (a batch as it comes back from a worker).

        All of them are stored or none: a kill loses at most the batch in flight. A run
        stored before (a failed try, resumed) is replaced.
        """
        runs: list[list[Any]] = []
        summaries: list[list[Any]] = []
        steps: list[Any] = []
        teams: list[Any] = []
        answers: list[Any] = []
        columns: dict[int, list[Any]] = {}  # the replications of a setup share its parameters
        for result in results:
            run_id = result["run_id"]
            params: dict[str, Any] = result.get("parameters", {})
            if id(params) not in columns:
                columns[id(params)] = [_sql_value(params.get(p)) for p in self.parameter_names]
            runs.append([_sql_value(result.get(c)) for c in RUN_COLUMNS] + columns[id(params)])
            summary = result.get("summary")
            if summary is not None:
                summaries.append([run_id] + [_sql_value(summary.get(k)) for k in self.summary_keys])
            kept_teams = result.get("teams")
            if kept_teams is not None:  # "team", then TEAM_OUTCOMES (NaN stored as NULL)
                for row in np.asarray(kept_teams, dtype=np.float64).tolist():
                    values = [None if v != v else v for v in row[1:]]
                    teams.append((run_id, int(row[0]), *values))
            survey = result.get("survey")
            if survey is not None:  # sim.model.survey.ANSWER_COLUMNS, long
                frame = survey[list(SURVEY_COLUMNS)]
                answers.extend((run_id, *row) for row in frame.itertuples(index=False))
            rows = result.get("steps")
            if rows is None or len(rows) == 0:
                continue
            if self.step_rows:
                steps.extend((run_id, *row) for row in np.asarray(rows).tolist())
            else:
                block = np.ascontiguousarray(rows, dtype=np.float64)
                if block.ndim != 2 or block.shape[1] != 1 + len(self.measures):
                    raise ValueError(f"run {run_id}: steps of shape {block.shape} do not fit")
                steps.append((run_id, block.tobytes()))
        step_table = "steps" if self.step_rows else "step_arrays"
        known = self._known_ids()
        again = [(row[0],) for row in runs if row[0] in known]  # stored before: replaced
        with self.db:
            for table in (step_table, "teams", "survey", "summaries", "runs") if again else ():
                self.db.executemany(f"DELETE FROM {table} WHERE run_id = ?", again)
            self.db.executemany(self._insert_sql["runs"], runs)
            self.db.executemany(self._insert_sql["summaries"], summaries)
            self.db.executemany(self._insert_sql[step_table], steps)
            if teams:
                self.db.executemany(self._insert_sql["teams"], teams)
            if answers:
                self.db.executemany(self._insert_sql["survey"], answers)
        known.update(row[0] for row in runs)

    def _known_ids(self) -> set[str]:
        """The run ids stored so far (read once, then kept up to date by write_many)."""
        if self._ids is None:
            self._ids = {r[0] for r in self.db.execute("SELECT run_id FROM runs")}
        return self._ids

    def done_from_replication(self, replication: int) -> int:
        """How many done runs have this replication number or a higher one."""
        query = "SELECT count(*) FROM runs WHERE status = 'done' AND replication >= ?"
        return int(self.db.execute(query, (replication,)).fetchone()[0])

    def finished(self) -> dict[str, str]:
        """Status of every stored run, by run id."""
        return dict(self.db.execute("SELECT run_id, status FROM runs").fetchall())

    def table(self, name: str) -> pd.DataFrame:
        """One table as a DataFrame: "runs", "summaries", "steps" or "teams".

        "teams" holds each run's teams at the last week, when the sweep kept them
        (keep_teams); empty otherwise, or in a store from before the table.
        """
        if name not in ("runs", "summaries", "steps", "teams", "survey"):
            raise ValueError(f"no table {name!r}")
        if name == "survey":  # the answers of the scenarios' surveys, long
            if not self._has_table("survey"):
                return pd.DataFrame(columns=["run_id", *SURVEY_COLUMNS])
            return pd.read_sql_query("SELECT * FROM survey ORDER BY rowid", self.db)
        if name == "teams":
            if not self._has_table("teams"):  # a store from before the table, read only
                return pd.DataFrame(columns=["run_id", "team", *TEAM_OUTCOMES])
            frame = pd.read_sql_query("SELECT * FROM teams", self.db)
            return frame.astype(dict.fromkeys(TEAM_OUTCOMES, float))
        if name == "steps" and not self.step_rows:
            blocks = self._step_table()
            # An older trustsim that touched this store may have added rows to a steps
            # table of its own (it creates one when it opens a store): they count too.
            known = {r[1] for r in self.db.execute("PRAGMA table_info(steps)")}
            if not known or not self.db.execute("SELECT 1 FROM steps LIMIT 1").fetchone():
                return blocks
            rows = self._typed(pd.read_sql_query("SELECT * FROM steps", self.db))
            return pd.concat([rows[blocks.columns], blocks], ignore_index=True)
        return self._typed(pd.read_sql_query(f"SELECT * FROM {name}", self.db))

    def _step_table(self) -> pd.DataFrame:
        """The tidy per-step table from the stored blocks, in the order they were stored."""
        width = 1 + len(self.measures)
        ids, blocks = [], []
        for run_id, data in self.db.execute("SELECT run_id, data FROM step_arrays ORDER BY rowid"):
            block = np.frombuffer(data, dtype=np.float64).reshape(-1, width)
            ids.append(np.full(len(block), run_id, dtype=object))
            blocks.append(block)
        values = np.concatenate(blocks) if blocks else np.empty((0, width))
        frame = pd.DataFrame(values[:, 1:], columns=self.measures)
        frame.insert(0, "step", values[:, 0].astype(np.int64))
        frame.insert(0, "run_id", np.concatenate(ids) if ids else np.empty(0, dtype=object))
        return frame

    def results(self) -> pd.DataFrame:
        """Done runs joined with their summaries: one row per run, tidy."""
        frame = pd.read_sql_query(
            "SELECT r.run_id, r.scenario, r.point, r.swept, r.replication, r.seed, s.* "
            "FROM runs r JOIN summaries s ON r.run_id = s.run_id WHERE r.status = 'done'",
            self.db,
        )
        return self._typed(frame.loc[:, ~frame.columns.duplicated()])

    def _typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """SQLite keeps NaN as NULL: measures come back as floats (NaN), flags as bools."""
        for col in frame.columns:
            if col in FLAGS:  # run outcomes that are true or false
                frame[col] = frame[col].astype(bool)
            elif col in self.measures or col in self.summary_keys:
                frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
        return frame

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.db.execute(query, (name,)).fetchone() is not None

    def close(self) -> None:
        """Close the database."""
        self.db.close()


SQLITE_HEADER = b"SQLite format 3\x00"


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file (readers of a store use it).

    When nothing has it open to write (no sweep holds the folder's lock, no -wal file,
    which SQLite keeps while any connection writes), it is opened immutable: SQLite
    then reads it without locking and makes not even its -wal and -shm files beside it.
    """
    wal = path.with_name(path.name + "-wal")
    idle = not wal.exists() and not being_written(path.parent)
    flags = "mode=ro&immutable=1" if idle else "mode=ro"
    return sqlite3.connect(f"{path.resolve().as_uri()}?{flags}", uri=True, timeout=30)


# Folders whose lock this process holds (folders.FolderLock): reading them before this
# process's own writer opens them is reading an idle store.
HELD: set[Path] = set()


def being_written(folder: Path) -> bool:
    """True while another sweep holds the folder's lock (see folders.FolderLock)."""
    if Path(folder).resolve() in HELD:
        return False
    try:
        with (Path(folder) / LOCK_NAME).open("rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
    except FileNotFoundError:
        return False
    return False


# The stores this process has found whole, with the state of their files then: a compare
# or a report reads its store several times (digest, tables), and checks it once.
_CHECKED: dict[Path, tuple[tuple[int, int], ...]] = {}


def _file_state(path: Path) -> tuple[tuple[int, int], ...] | None:
    """Size and change time of a store and its WAL (None when the store is missing)."""
    try:
        states = [path.stat()]
    except FileNotFoundError:
        return None
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        states.append(wal.stat())
    return tuple((s.st_size, s.st_mtime_ns) for s in states)


def check_store(folder: Path) -> None:
    """Refuse a results.sqlite that is not a store, or is cut short, before it is opened.

    Reads only: the file's header (its page size and page count, which a truncated
    file no longer fills) and, read-only, its list of tables and SQLite's quick check.

    Raises:
        ScenarioError: one line naming the file and what is wrong with it.
    """
    path = Path(folder) / DB_NAME
    state = _file_state(path)
    if state is not None and _CHECKED.get(path.resolve()) == state:
        return  # checked already in this process, and neither it nor its WAL changed since
    fix = "nothing was changed; restore it from a copy, or run the sweep into another --out"
    try:
        with path.open("rb") as f:
            header = f.read(100)
        size = path.stat().st_size
    except FileNotFoundError:
        raise ScenarioError([f"{folder}: no results store here ({DB_NAME})"]) from None
    if size == 0:
        return  # created by a sweep killed before its first table: nothing to lose
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise ScenarioError([f"{path}: is not a results store (not an SQLite file); {fix}"])
    page = int.from_bytes(header[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(header[28:32], "big")
    # The count is valid when its change counter matches (SQLite >= 3.7.0 writes both).
    # With a -wal file beside it, pages may still be there (a checkpoint cut short by a
    # full disk): SQLite reads them from it, and the quick check below judges.
    wal = path.with_name(path.name + "-wal")
    whole = wal.exists() and wal.stat().st_size > 0
    if not whole and header[24:28] == header[92:96] and size < page * pages:
        raise ScenarioError(
            [f"{path}: is damaged: cut short ({size:,} of {page * pages:,} bytes); {fix}"]
        )
    try:
        db = _read_only(path)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            # Every page, read-only: a few ms per 10 MB, and a damaged page would
            # otherwise surface only in the middle of a resume or a report.
            found = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise ScenarioError([f"{path}: is damaged ({exc}); {fix}"]) from None
    if found != "ok":
        found = " ".join(found.replace("*** in database main ***", "").split())
        raise ScenarioError([f"{path}: is damaged ({found}); {fix}"])
    if tables and not tables & {"runs", "summaries", "steps", "step_arrays"}:
        raise ScenarioError([f"{path}: is an SQLite file but not a results store; {fix}"])
    if state is not None:
        _CHECKED[path.resolve()] = state


def read_manifest(folder: Path) -> dict[str, Any]:
    """A results folder's manifest.json ({} when it has none).

    Raises:
        ScenarioError: the file is not the JSON object a sweep writes (cut short, edited).
    """
    path = Path(folder) / "manifest.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(
            [
                f"{path}: is damaged ({exc}); nothing was changed: restore it from a copy, "
                "or run the sweep into another --out"
            ]
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError([f"{path}: is damaged (not a JSON object); nothing was changed"])
    return data


def scenario_of_run(row: pd.Series) -> Scenario:
    """The Scenario a stored run used, rebuilt from its row of the runs table."""
    data: dict[str, Any] = {"name": str(row["scenario"])}
    for name, info in parameters().items():
        if name not in row.index:
            continue  # a parameter added after the store was written: its default held then
        value = row[name]
        if info.annotation == (int | None):  # an optional shape parameter (team_size, span)
            value = None if value is None or pd.isna(value) else int(value)
        elif info.annotation is bool:
            value = bool(value)
        elif info.annotation is int:
            value = int(value)
        elif info.annotation is float:
            value = float(value)
        data[name] = value
    events = row.get("events")
    data["events"] = json.loads(events) if isinstance(events, str) and events else []
    return scenario_from_dict(data, source=f"run {row['run_id']}")
