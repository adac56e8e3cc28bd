"""The readings in SQLite (the standard library's ``sqlite3``): ``--engine sqlite[:PATH]``.

With no path the database is ``readings.sqlite`` in the user cache folder, so the engine
needs no set-up. Each run replaces the tables (see :mod:`hotpath.engines.sql`) in one
transaction, inserting with ``executemany`` under the pragmas that make that the fastest
stdlib path (the database ladder measures the alternatives), then finds the duplicates in SQL.

Where SQLite cannot give the reference's bits, and what is done instead:

- ``kwh`` is declared with no type. A ``REAL`` column stores a float with no fractional part
  as an integer, so -0.0 would come back as 0.0.
- SQLite's ``sum()`` and ``total()`` are compensated (Kahan-Babuska-Neumaier) since 3.43, and
  a ``GROUP BY`` promises no order in which it visits a group's rows, which decides a total's
  last bits and which of -0.0 and 0.0 is a minimum. So the kept rows are fetched in input
  order and aggregated by the native kernels -- which the fingerprint needs them fetched for
  anyway. The kept rows are an anti-join (no earlier row with the same key) that probes the
  index on (device_id, timestamp) while it scans the table in row order: input order with no
  sort, faster here than numbering the rows with row_number() and sorting them back. (SQL
  that is exact -- a recursive CTE adding in order -- is on the database ladder, with its
  cost.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hotpath.engines import sql
from hotpath.pipeline.analytics import Stopwatch
from hotpath.pipeline.engines import Options
from hotpath.pipeline.errors import PipelineError
from hotpath.pipeline.readers.base import Parsed, Reader
from hotpath.pipeline.report import Devices

SCHEMA = (
    "CREATE TABLE files (file_no INTEGER PRIMARY KEY, path TEXT NOT NULL, "
    "first_row INTEGER NOT NULL, rows INTEGER NOT NULL, rows_read INTEGER NOT NULL)",
    # row_order is the rowid: the table is stored in input order
    "CREATE TABLE readings (row_order INTEGER PRIMARY KEY, device_id INTEGER NOT NULL, "
    "timestamp INTEGER NOT NULL, kwh)",  # no type: see the module's docstring
    "CREATE TABLE rejects (file_no INTEGER NOT NULL, line INTEGER NOT NULL, "
    "reason TEXT NOT NULL, raw BLOB NOT NULL, whole_file INTEGER NOT NULL)",
)
# The bulk load's settings. The rollback journal stays on (a failed load rolls back);
# synchronous=NORMAL skips the fsync between the journal and the database, which a power
# cut (not a crash) can hurt; sorts and the temporary table stay in memory.
PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA cache_size = -262144",
    "PRAGMA temp_store = MEMORY",
)
INSERT = "INSERT INTO readings VALUES (?, ?, ?, ?)"  # NaN binds as NULL: a missing reading
# Infinities are rejected on input, so +inf can stand for NULL in a fetched float column.
MISSING = "9e999"
FETCH_ROWS = 1 << 16
# The kept rows in input order: the anti-join, probing the index, scanning in row order
KEPT_IN_ORDER = f"SELECT device_id, timestamp, ifnull(kwh, {MISSING}) {sql.FIRST}"
# The dedup's index (row_order, the rowid, is in every SQLite index); also a user's lookup
INDEX = "CREATE INDEX readings_key ON readings (device_id, timestamp)"
ROW = np.dtype([("device_id", np.uint32), ("timestamp", np.int64), ("kwh", np.float64)])


def default_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("hotpath")) / "readings.sqlite"


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are begun and ended explicitly."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return sqlite3.connect(str(path), isolation_level=None, timeout=60)


def insert_rows(
    db: sqlite3.Connection, first_row: int, ids: np.ndarray, stamps: np.ndarray, kwh: np.ndarray
) -> None:
    """The rows as parameters, converted once per column (tolist is C speed)."""
    order = range(first_row, first_row + len(ids))
    db.executemany(INSERT, zip(order, ids.tolist(), stamps.tolist(), kwh.tolist()))


def fetch(db: sqlite3.Connection, query: str, rows: int, dtype: np.dtype = ROW) -> np.ndarray:
    """A query's rows (at most ``rows``) as one structured array of ``dtype``, fetched in
    chunks; a kwh column's +inf (MISSING) made NaN."""
    out = np.empty(rows, dtype)
    cursor = db.execute(query)
    end = 0
    while chunk := cursor.fetchmany(FETCH_ROWS):
        out[end : end + len(chunk)] = np.array(chunk, dtype)
        end += len(chunk)
    out = out[:end]
    if "kwh" in dtype.names:
        kwh = out["kwh"]
        kwh[np.isinf(kwh)] = np.nan
    return out


class SqliteEngine(sql.DatabaseEngine):
    name = "sqlite"
    description = "SQLite: executemany in one transaction, duplicates by an anti-join in SQL"

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = path

    def configured(self, parameter: str) -> SqliteEngine:
        return SqliteEngine(parameter)

    def where(self) -> str:
        return str(self.path or default_path())

    @contextmanager
    def session(self) -> Iterator[sqlite3.Connection]:
        try:
            db = connect(self.where())
        except (sqlite3.Error, OSError) as error:
            raise PipelineError(f"SQLite database {self.where()}: {error}") from error
        try:
            for pragma in PRAGMAS:
                db.execute(pragma)
            yield db
        except sqlite3.Error as error:
            raise PipelineError(f"SQLite database {self.where()}: {error}") from error
        finally:
            db.close()

    def load(
        self, db: sqlite3.Connection, files: Sequence[Path], reader: Reader, options: Options
    ) -> sql.Loaded:
        def write(file_no: int, first_row: int, parsed: Parsed) -> None:
            insert_rows(db, first_row, *sql.columns(parsed))
            db.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                (file_no, parsed.path, first_row, parsed.rows, parsed.rows_read),
            )
            db.executemany(
                "INSERT INTO rejects VALUES (?, ?, ?, ?, ?)", sql.reject_rows(file_no, parsed)
            )

        db.execute("BEGIN IMMEDIATE")  # the write lock now: no other writer halfway through
        try:
            for table in sql.TABLES:
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in SCHEMA:
                db.execute(statement)
            loaded = sql.load_files(files, reader, write, options.on_bad_row, options.progress)
            db.execute(INDEX)  # after the rows: one sort, not a B-tree grown row by row
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (a full disk, say)
                db.execute("ROLLBACK")
            raise
        return loaded

    def analyse(self, db: sqlite3.Connection, clock: Stopwatch) -> tuple[int, Devices, int]:
        rows = db.execute("SELECT count(*) FROM readings").fetchone()[0]
        kept = clock.time("dedup", lambda: fetch(db, KEPT_IN_ORDER, rows))
        ids, stamps, kwh = (np.ascontiguousarray(kept[n]) for n in ROW.names)
        return len(kept), *sql.native_analytics(ids, stamps, kwh, clock)

    def describe(self, db: sqlite3.Connection) -> dict[str, Any]:
        return {"sqlite": sqlite3.sqlite_version}


ENGINE = SqliteEngine()
