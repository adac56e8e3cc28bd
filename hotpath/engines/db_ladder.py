"""The database ladder: what batching, indexes and pushing the work into SQL buy, in SQLite
and PostgreSQL, against the native kernels on fetched columns -- and DuckDB, the analytical
peer, straight over the files. ``bench/test_database.py`` times every rung
(``pytest bench/ --hotpath-database 1e5``); ``hotpath performance`` writes the tables.

Each rung is one thing a developer would write, on the same readings:

- **load**: a commit per row, ``executemany`` in one transaction (indexes in the schema from
  the start, as an application would create them), and the bulk path (SQLite: executemany
  with bulk pragmas and the indexes built after the rows; PostgreSQL: binary ``COPY``, then
  the indexes). Each ends with the same table.
- **report** (count, total, minimum, maximum per device, over the kept rows): N+1 queries from
  Python, one ``GROUP BY`` without an index, with an index on (device_id, timestamp), with a
  covering index; N+1 again with the covering index; SQL that is exact; and the native
  kernels on the columns fetched in input order.
- **dedup** (which rows are first of their (device_id, timestamp)): ``row_number()`` without
  and with the index, an anti-join, and the native duplicates kernel on the fetched columns.
- **end to end**: the sqlite and postgres engines, DuckDB over CSV and over Parquet, and the
  pipeline's optimized default (native reader, compiled kernels, every core, no cache).

Every rung's answer is checked before it is timed: loads by reading the table back bit for
bit, reports against the reference's devices -- exactly where the SQL sums in input order,
else within ``TOTAL_RTOL`` (a ``GROUP BY`` visits a group's rows in the order its plan scans
them) -- and dedups by the kept rows' count and the sum of their row_order. Each query's plan
(SQLite: ``EXPLAIN QUERY PLAN``; PostgreSQL: ``EXPLAIN ANALYZE``; DuckDB: ``EXPLAIN``) is
saved with its time.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotpath import backends
from hotpath.engines import postgres_db, sql, sqlite_db
from hotpath.pipeline import Options, run
from hotpath.pipeline.readers import get as get_reader
from hotpath.pipeline.report import Devices, Report, mismatch

# A commit per row waits for the disk each time: this many rows are timed, and the time
# scaled to the dataset (the table says so).
ROW_COMMIT_ROWS = 2_000
DATABASES = ("sqlite", "postgres", "duckdb")
STAGES = ("load", "report", "dedup", "end to end")


@dataclass
class Dataset:
    """The readings every rung works on, and the answers they must give."""

    rows: int
    csv: Path
    parquet: Path
    reference: Report
    device_id: np.ndarray = field(repr=False)  # every row, in input order
    timestamp: np.ndarray = field(repr=False)
    kwh: np.ndarray = field(repr=False)
    kept_rows: int = 0
    kept_order_sum: int = 0  # sum of the kept rows' row_order: a checksum of the kept set

    @classmethod
    def of(cls, csv: Path, parquet: Path, reference: Report) -> Dataset:
        reader = get_reader("native")
        parts = [sql.columns(reader.read(f)) for f in sorted(csv.glob("*.csv"))]
        ids, stamps, kwh = (np.concatenate(c) for c in zip(*parts))
        backend = backends.load(best())
        kept = ~np.asarray(backend.duplicates(ids, stamps), bool)
        return cls(
            len(ids), csv, parquet, reference, ids, stamps, kwh,
            int(kept.sum()), int(np.flatnonzero(kept).sum()),
        )  # fmt: skip


def best() -> str:
    from hotpath.pipeline.analytics import best_backend

    return best_backend()


def native_devices(device_id: np.ndarray, kwh: np.ndarray) -> Devices:
    """Per-device results of rows in input order, by the fastest backend's kernels."""
    backend = backends.load(best())
    codes, uniques = backend.factorize(device_id)
    uniques = np.asarray(uniques)
    count, total, low, high = backend.aggregate(np.asarray(codes, np.uint32), kwh, len(uniques))
    order = np.argsort(uniques, kind="stable")
    return Devices(
        uniques[order].astype(np.int64),
        *(np.asarray(column)[order] for column in (count, total, low, high)),
    )


# -- what each database says, and how -------------------------------------------------------

INDEXES = {  # name -> (table, columns); the covering one also holds kwh
    "readings_key": ("readings", "(device_id, timestamp)"),
    "kept_key": ("kept", "(device_id, timestamp)"),
    "kept_cover": ("kept", "(device_id, timestamp, kwh)"),
}
PER_DEVICE = (
    "SELECT count(kwh), coalesce(sum(kwh), 0.0), min(kwh), max(kwh) FROM kept WHERE device_id = {p}"
)
GROUP_BY = """SELECT device_id, count(kwh), coalesce(sum(kwh), 0.0), min(kwh), max(kwh)
FROM kept GROUP BY device_id"""
DEDUP_WINDOW = f"SELECT count(*), sum(row_order) FROM ({sql.NUMBERED}) AS numbered WHERE nth = 1"
DEDUP_ANTI_JOIN = f"SELECT count(*), sum(r.row_order) {sql.FIRST}"
# SQLite, exact in SQL: number each device's valid readings in input order, then a recursive
# CTE adds them one at a time -- plain IEEE additions from 0.0, as the reference does -- and
# keeps the first of equal minima and maxima. The last step of each device is its result
# (SQLite takes a bare column from the row that max() picked).
SQLITE_EXACT = """WITH RECURSIVE
valid(device_id, k, kwh) AS MATERIALIZED (
    SELECT device_id, row_number() OVER (PARTITION BY device_id ORDER BY row_order), kwh
    FROM kept WHERE kwh IS NOT NULL),
running(device_id, k, total, low, high) AS (
    SELECT device_id, 1, 0.0 + kwh, kwh, kwh FROM valid WHERE k = 1
    UNION ALL
    SELECT v.device_id, v.k, r.total + v.kwh, iif(v.kwh < r.low, v.kwh, r.low),
           iif(v.kwh > r.high, v.kwh, r.high)
    FROM running AS r JOIN valid AS v ON v.device_id = r.device_id AND v.k = r.k + 1),
last AS (SELECT device_id, max(k) AS k, total, low, high FROM running GROUP BY device_id)
SELECT d.device_id, coalesce(last.k, 0), coalesce(last.total, 0.0), last.low, last.high
FROM (SELECT DISTINCT device_id FROM kept) AS d LEFT JOIN last USING (device_id)"""


class Database:
    """One database holding the ladder's tables, with the dialect's differences."""

    name = ""
    placeholder = "?"

    def __init__(self, dataset: Dataset) -> None:
        self.data = dataset
        self.state = ""  # "full": readings hold every row and kept is built

    # dialect
    def execute(self, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def plan(self, query: str) -> str:
        raise NotImplementedError

    def close(self) -> None: ...

    def fetch_readings(self, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fetch_kept(self) -> tuple[np.ndarray, np.ndarray]:
        """(device_id, kwh) of the kept rows, in input order."""
        raise NotImplementedError

    def fetch_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """(device_id, timestamp) of every row, in input order."""
        raise NotImplementedError

    def create_readings(self, indexed: bool) -> None:
        raise NotImplementedError

    def index_after_load(self) -> None:
        raise NotImplementedError

    def load_row_commit(self, rows: int) -> None:
        raise NotImplementedError

    def load_executemany(self) -> None:
        raise NotImplementedError

    def load_bulk(self) -> None:
        raise NotImplementedError

    def index_sql(self, name: str) -> str:
        table, columns = INDEXES[name]
        return f"CREATE INDEX {name} ON {table} {columns}"

    def build_kept(self) -> None:
        self.execute("DROP TABLE IF EXISTS kept")
        self.execute(
            "CREATE TABLE kept AS SELECT r.row_order, r.device_id, r.timestamp, r.kwh "
            f"{sql.FIRST} ORDER BY r.row_order"
        )

    def after_indexes(self) -> None: ...

    # shared
    def params(self, ids: np.ndarray, stamps: np.ndarray, kwh: np.ndarray, first: int = 0) -> Any:
        """Rows as Python parameters (NaN: NULL) -- converted a column at a time."""
        return zip(range(first, first + len(ids)), ids.tolist(), stamps.tolist(), kwh.tolist())

    def full(self) -> None:
        """Every row loaded by the bulk path, the kept rows in their own table."""
        if self.state != "full":
            self.create_readings(indexed=False)
            self.load_bulk()
            self.build_kept()
            self.state = "full"

    def indexes(self, *wanted: str) -> None:
        """Exactly these of INDEXES exist (the planner picks among what exists)."""
        for name in INDEXES:
            self.execute(f"DROP INDEX IF EXISTS {name}")
        for name in wanted:
            self.execute(self.index_sql(name))
        self.after_indexes()

    def n_plus_one(self) -> Devices:
        ids = [row[0] for row in self.execute("SELECT DISTINCT device_id FROM kept")]
        query = PER_DEVICE.format(p=self.placeholder)
        rows = [(device, *self.execute(query, (device,))[0]) for device in ids]
        return Devices.from_lists(rows)

    def query_devices(self, query: str) -> Devices:
        return Devices.from_lists(self.execute(query))

    def sql_dedup(self, query: str) -> tuple[int, int]:
        count, total = self.execute(query)[0]
        return int(count), int(total)

    def native_dedup(self) -> tuple[int, int]:
        ids, stamps = self.fetch_keys()
        dup = np.asarray(backends.load(best()).duplicates(ids, stamps), bool)
        kept = np.flatnonzero(~dup)
        return len(kept), int(kept.sum())

    def native_report(self) -> Devices:
        return native_devices(*self.fetch_kept())


def _bits(ids: np.ndarray, stamps: np.ndarray, kwh: np.ndarray) -> tuple[bytes, bytes, bytes]:
    canonical = np.where(np.isnan(kwh), np.nan, kwh)  # one NaN for a missing reading
    return (
        ids.astype(np.int64).tobytes(),
        stamps.astype(np.int64).tobytes(),
        canonical.astype(np.float64).tobytes(),
    )


class Sqlite(Database):
    name = "sqlite"

    def __init__(self, dataset: Dataset, folder: Path) -> None:
        super().__init__(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"ladder-{dataset.rows}.sqlite"
        for stale in folder.glob(f"{self.path.name}*"):
            stale.unlink()
        self.db = sqlite_db.connect(self.path)

    def execute(self, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(query, params).fetchall()

    def plan(self, query: str) -> str:
        rows = self.db.execute("EXPLAIN QUERY PLAN " + query).fetchall()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return "\n".join(lines)

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)

    def create_readings(self, indexed: bool) -> None:
        # SQLite's defaults (a rollback journal, synchronous=FULL): what an application gets
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("DROP TABLE IF EXISTS readings")
        self.db.execute(sqlite_db.SCHEMA[1])
        if indexed:
            self.db.execute(self.index_sql("readings_key"))

    def load_row_commit(self, rows: int) -> None:
        d = self.data
        for row in self.params(d.device_id[:rows], d.timestamp[:rows], d.kwh[:rows]):
            self.db.execute("BEGIN")
            self.db.execute(sqlite_db.INSERT, row)
            self.db.execute("COMMIT")

    def load_executemany(self) -> None:
        d = self.data
        self.db.execute("BEGIN")
        self.db.executemany(sqlite_db.INSERT, self.params(d.device_id, d.timestamp, d.kwh))
        self.db.execute("COMMIT")

    def load_bulk(self) -> None:
        d = self.data
        for pragma in sqlite_db.PRAGMAS:
            self.db.execute(pragma)
        self.db.execute("BEGIN")
        sqlite_db.insert_rows(self.db, 0, d.device_id, d.timestamp, d.kwh)
        self.db.execute(self.index_sql("readings_key"))
        self.db.execute("COMMIT")

    def fetch_readings(self, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        query = (
            f"SELECT device_id, timestamp, ifnull(kwh, {sqlite_db.MISSING}) FROM readings "
            "ORDER BY row_order"
        )
        rows = sqlite_db.fetch(self.db, query, limit)
        return rows["device_id"], rows["timestamp"], rows["kwh"]

    def fetch_kept(self) -> tuple[np.ndarray, np.ndarray]:
        dtype = np.dtype([("device_id", np.uint32), ("kwh", np.float64)])
        query = f"SELECT device_id, ifnull(kwh, {sqlite_db.MISSING}) FROM kept ORDER BY row_order"
        rows = sqlite_db.fetch(self.db, query, self.data.kept_rows, dtype)
        return np.ascontiguousarray(rows["device_id"]), np.ascontiguousarray(rows["kwh"])

    def fetch_keys(self) -> tuple[np.ndarray, np.ndarray]:
        dtype = np.dtype([("device_id", np.uint32), ("timestamp", np.int64)])
        query = "SELECT device_id, timestamp FROM readings ORDER BY row_order"
        rows = sqlite_db.fetch(self.db, query, self.data.rows, dtype)
        return np.ascontiguousarray(rows["device_id"]), np.ascontiguousarray(rows["timestamp"])

    def build_kept(self) -> None:
        # row_order the rowid again: kept is stored, and scanned, in input order
        self.execute("DROP TABLE IF EXISTS kept")
        self.execute(sqlite_db.SCHEMA[1].replace("readings", "kept"))
        self.execute(
            "INSERT INTO kept SELECT r.row_order, r.device_id, r.timestamp, r.kwh " + sql.FIRST
        )

    def after_indexes(self) -> None:
        self.execute("ANALYZE")  # the planner's statistics


class Postgres(Database):
    name = "postgres"
    placeholder = "%s"
    SCHEMA = "hotpath_ladder"  # apart from the engine's tables

    def __init__(self, dataset: Dataset, url: str) -> None:
        import psycopg

        super().__init__(dataset)
        self.db = psycopg.connect(url, autocommit=True, application_name="hotpath-ladder")
        self.db.execute(f"DROP SCHEMA IF EXISTS {self.SCHEMA} CASCADE")
        self.db.execute(f"CREATE SCHEMA {self.SCHEMA}")
        self.db.execute(f"SET search_path = {self.SCHEMA}")

    def execute(self, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        cursor = self.db.execute(query, params or None)
        return cursor.fetchall() if cursor.description else []

    def plan(self, query: str) -> str:
        rows = self.db.execute("EXPLAIN (ANALYZE, COSTS OFF) " + query).fetchall()
        return "\n".join(row[0] for row in rows)

    def close(self) -> None:
        self.db.execute(f"DROP SCHEMA IF EXISTS {self.SCHEMA} CASCADE")
        self.db.close()

    def index_sql(self, name: str) -> str:
        if name == "kept_cover":  # PostgreSQL's covering index: the key, and kwh beside it
            return "CREATE INDEX kept_cover ON kept (device_id, timestamp) INCLUDE (kwh)"
        if name == "readings_key":
            return "CREATE INDEX readings_key ON readings (device_id, timestamp, row_order)"
        return super().index_sql(name)

    def create_readings(self, indexed: bool) -> None:
        self.db.execute("DROP TABLE IF EXISTS readings")
        self.db.execute(postgres_db.SCHEMA[1])
        if indexed:
            self.db.execute("ALTER TABLE readings ADD PRIMARY KEY (row_order)")
            self.db.execute(self.index_sql("readings_key"))

    def insert(self) -> str:
        return "INSERT INTO readings VALUES (%s, %s, %s, %s)"

    def load_row_commit(self, rows: int) -> None:
        d = self.data
        cursor = self.db.cursor()
        for row in self.params(d.device_id[:rows], d.timestamp[:rows], d.kwh[:rows]):
            cursor.execute(self.insert(), _nulls(row))  # autocommit: a commit each

    def load_executemany(self) -> None:
        d = self.data
        cursor = self.db.cursor()
        with self.db.transaction():
            cursor.executemany(
                self.insert(), map(_nulls, self.params(d.device_id, d.timestamp, d.kwh))
            )

    def load_bulk(self) -> None:
        d = self.data
        cursor = self.db.cursor()
        with self.db.transaction():
            with cursor.copy("COPY readings FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(postgres_db.HEADER)
                for start in range(0, d.rows, postgres_db.CHUNK):
                    part = slice(start, start + postgres_db.CHUNK)
                    copy.write(
                        postgres_db.copy_rows(
                            start, d.device_id[part], d.timestamp[part], d.kwh[part]
                        )
                    )
                copy.write(postgres_db.TRAILER)
            for statement in postgres_db.AFTER_LOAD:
                cursor.execute(statement)

    def fetch_readings(self, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = postgres_db.copy_out(
            self.db.cursor(),
            "SELECT device_id, timestamp, coalesce(kwh, 'NaN') FROM readings ORDER BY row_order",
        )
        return rows["device_id"], rows["timestamp"], rows["kwh"]

    def fetch_kept(self) -> tuple[np.ndarray, np.ndarray]:
        dtype = postgres_db.copy_dtype(("device_id", ">i8"), ("kwh", ">f8"))
        query = "SELECT device_id, coalesce(kwh, 'NaN') FROM kept ORDER BY row_order"
        rows = postgres_db.copy_out(self.db.cursor(), query, dtype)
        return rows["device_id"].astype(np.uint32), rows["kwh"].astype(np.float64)

    def fetch_keys(self) -> tuple[np.ndarray, np.ndarray]:
        dtype = postgres_db.copy_dtype(("device_id", ">i8"), ("timestamp", ">i8"))
        query = "SELECT device_id, timestamp FROM readings ORDER BY row_order"
        rows = postgres_db.copy_out(self.db.cursor(), query, dtype)
        return rows["device_id"].astype(np.uint32), rows["timestamp"].astype(np.int64)

    def build_kept(self) -> None:
        super().build_kept()
        self.execute("ALTER TABLE kept ADD PRIMARY KEY (row_order)")

    def after_indexes(self) -> None:
        # statistics, and the visibility map that lets a covering index answer alone
        self.execute("VACUUM ANALYZE kept")
        self.execute("ANALYZE readings")


def _nulls(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """psycopg sends NaN as NaN: a missing reading is NULL."""
    kwh = row[3]
    return row if kwh == kwh else (*row[:3], None)


# -- the rungs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rung:
    key: str  # stable: the benchmark case's id, with the database and the size
    database: str
    stage: str  # load, report, dedup, end to end
    label: str
    why: str
    work: Callable[[Any], Any]  # the timed work, given the database (or the dataset)
    check: Callable[[Any, Any], str | None]  # None when its answer is right
    setup: Callable[[Any], None] | None = None  # untimed, before every round
    prepare: Callable[[Any], None] | None = None  # untimed, once
    plan: Callable[[Any], str] | None = None
    exact: bool = True  # bit-exact, else within the report's TOTAL_RTOL
    slow: bool = False  # one timed round, which is also its check
    sample: int = 0  # rows timed (0: all), the time scaled to the dataset

    @property
    def id(self) -> str:
        return f"{self.database}-{self.key}"


def _check_load(rows: int) -> Callable[[Database, Any], str | None]:
    def check(db: Database, _: Any) -> str | None:
        n = min(rows, db.data.rows) if rows else db.data.rows
        stored = db.fetch_readings(n)
        d = db.data
        want = _bits(d.device_id[:n], d.timestamp[:n], d.kwh[:n])
        if len(stored[0]) != n:
            return f"{len(stored[0])} rows stored, want {n}"
        for name, got, expected in zip(("device_id", "timestamp", "kwh"), _bits(*stored), want):
            if got != expected:
                return f"the stored {name} column differs from the input"
        return None

    return check


def _check_devices(exact: bool) -> Callable[[Database, Devices], str | None]:
    def check(db: Database, devices: Devices) -> str | None:
        want = db.data.reference
        return mismatch(dataclasses.replace(want, devices=devices), want, exact=exact)

    return check


def bit_exact(rung: Rung, where: Any, result: Any) -> bool:
    """Whether a rung held to TOTAL_RTOL gave the reference's bits anyway."""
    if rung.stage == "report":
        return _check_devices(True)(where, result) is None
    if rung.stage == "end to end":
        return _check_report(True)(where, result) is None
    return True


def _check_dedup(db: Database, found: tuple[int, int]) -> str | None:
    want = (db.data.kept_rows, db.data.kept_order_sum)
    return None if found == want else f"kept (rows, sum of row_order) {found}, want {want}"


def _check_report(exact: bool) -> Callable[[Dataset, Report], str | None]:
    def check(data: Dataset, got: Report) -> str | None:
        want = data.reference
        return mismatch(dataclasses.replace(got, files=want.files), want, exact=exact)

    return check


def _indexes(*names: str) -> Callable[[Database], None]:
    def prepare(db: Database) -> None:
        db.full()
        db.indexes(*names)

    return prepare


def database_rungs(name: str) -> list[Rung]:
    """The load, report and dedup rungs of one database (sqlite or postgres)."""
    bulk = (
        "executemany with bulk pragmas (synchronous=NORMAL, a large page cache, temp_store in "
        "memory), the index built after the rows"
        if name == "sqlite"
        else "binary COPY from NumPy-built rows, the primary key and index built after the rows"
    )

    def fresh(indexed: bool) -> Callable[[Database], None]:
        def setup(db: Database) -> None:
            db.state = ""
            db.create_readings(indexed)

        return setup

    load = [
        Rung("load-row-commit", name, "load", "a commit per row",
             "INSERT and COMMIT for each reading: every commit waits for the disk",
             lambda db: db.load_row_commit(ROW_COMMIT_ROWS), _check_load(ROW_COMMIT_ROWS),
             setup=fresh(True), slow=True, sample=ROW_COMMIT_ROWS),
        Rung("load-executemany", name, "load", "executemany, one transaction",
             "one statement prepared once, every row bound to it, one commit",
             lambda db: db.load_executemany(), _check_load(0), setup=fresh(True)),
        Rung("load-bulk", name, "load", "bulk: " + ("pragmas, index after" if name == "sqlite"
                                                    else "COPY, index after"),
             bulk, lambda db: db.load_bulk(), _check_load(0), setup=fresh(False)),
    ]  # fmt: skip
    p = "?" if name == "sqlite" else "%s"
    one_device = PER_DEVICE.format(p=p)

    def plan_one(db: Database) -> str:
        device = db.execute("SELECT min(device_id) FROM kept")[0][0]
        return db.plan(one_device.replace(p, str(device)))

    exact_sql = SQLITE_EXACT if name == "sqlite" else postgres_db.AGGREGATE
    exact_why = (
        "a recursive CTE adding each device's readings one at a time in row order (SQLite's "
        "sum() is compensated since 3.43 and its GROUP BY promises no order)"
        if name == "sqlite"
        else "ordered aggregates: sum(kwh ORDER BY row_order), min/max ORDER BY row_order DESC"
    )
    report = [
        Rung("report-n+1", name, "report", "N+1 queries, no index",
             "one query for the device ids, then one per device: each scans the whole table",
             lambda db: db.n_plus_one(), _check_devices(False), prepare=_indexes(),
             plan=plan_one, exact=False, slow=True),
        Rung("report-group-by", name, "report", "one GROUP BY, no index",
             "one query; the database groups the rows itself (a sort or a hash table)",
             lambda db: db.query_devices(GROUP_BY), _check_devices(False),
             prepare=_indexes(), plan=lambda db: db.plan(GROUP_BY), exact=False),
        Rung("report-index", name, "report", "GROUP BY, index on (device_id, timestamp)",
             "the rows come in device order from the index, each fetched from the table",
             lambda db: db.query_devices(GROUP_BY), _check_devices(False),
             prepare=_indexes("kept_key"), plan=lambda db: db.plan(GROUP_BY), exact=False),
        Rung("report-covering", name, "report", "GROUP BY, covering index",
             "the index holds kwh too: the query never reads the table",
             lambda db: db.query_devices(GROUP_BY), _check_devices(False),
             prepare=_indexes("kept_cover"), plan=lambda db: db.plan(GROUP_BY), exact=False),
        Rung("report-n+1-covering", name, "report", "N+1 queries, covering index",
             "each per-device query is an index range now: what is left is a round trip each",
             lambda db: db.n_plus_one(), _check_devices(False),
             prepare=_indexes("kept_cover"), plan=plan_one, exact=False),
        Rung("report-exact-sql", name, "report", "exact in SQL", exact_why,
             lambda db: db.query_devices(exact_sql), _check_devices(True),
             prepare=_indexes("kept_cover"), plan=lambda db: db.plan(exact_sql),
             slow=name == "sqlite"),
        Rung("report-native", name, "report", "native kernels on the fetched columns",
             "the kept rows' (device_id, kwh) fetched in row order, then factorize + aggregate",
             lambda db: db.native_report(), _check_devices(True), prepare=_indexes()),
    ]  # fmt: skip
    dedup = [
        Rung("dedup-window", name, "dedup", "row_number(), no index",
             "PARTITION BY device_id, timestamp ORDER BY row_order: a sort of every row",
             lambda db: db.sql_dedup(DEDUP_WINDOW), _check_dedup,
             prepare=lambda db: (db.full(), db.execute("DROP INDEX IF EXISTS readings_key"),
                                 db.after_indexes()),
             plan=lambda db: db.plan(DEDUP_WINDOW)),
        Rung("dedup-window-index", name, "dedup", "row_number(), with the key's index",
             "the index is already in the window's order: no sort",
             lambda db: db.sql_dedup(DEDUP_WINDOW), _check_dedup,
             prepare=lambda db: (db.full(), _ensure_readings_key(db)),
             plan=lambda db: db.plan(DEDUP_WINDOW)),
        Rung("dedup-anti-join", name, "dedup", "anti-join, with the key's index",
             "keep each row no earlier row has the key of: one index probe per row",
             lambda db: db.sql_dedup(DEDUP_ANTI_JOIN), _check_dedup,
             prepare=lambda db: (db.full(), _ensure_readings_key(db)),
             plan=lambda db: db.plan(DEDUP_ANTI_JOIN)),
        Rung("dedup-native", name, "dedup", "native kernel on the fetched columns",
             "(device_id, timestamp) fetched in row order, then the duplicates kernel",
             lambda db: db.native_dedup(), _check_dedup, prepare=lambda db: db.full()),
    ]  # fmt: skip
    return load + report + dedup


def _ensure_readings_key(db: Database) -> None:
    db.execute("DROP INDEX IF EXISTS readings_key")
    db.execute(db.index_sql("readings_key"))
    db.after_indexes()


def _duckdb_plan(data: Dataset) -> str:
    import duckdb

    files = sorted(str(f) for f in data.parquet.glob("*.parquet"))
    # the peer's three statements (hotpath.engines.duckdb_job) as one query, for one plan
    query = (
        "SELECT device_id, count(kwh), sum(kwh), min(kwh), max(kwh) FROM (SELECT * FROM ("
        "SELECT device_id, timestamp, CASE WHEN isnan(kwh) THEN NULL ELSE kwh END AS kwh, "
        f"row_number() OVER () AS row_order FROM read_parquet({files})) "
        "QUALIFY row_number() OVER (PARTITION BY device_id, timestamp ORDER BY row_order) = 1) "
        "GROUP BY device_id"
    )
    with duckdb.connect(":memory:") as db:
        return "\n".join(row[1] for row in db.execute("EXPLAIN " + query).fetchall())


def end_to_end_rungs(workers: int, folder: Path) -> list[Rung]:
    """The whole job, files to report: the database engines, DuckDB, the optimized default."""
    best_options = Options(reader="native", backend=best(), workers=workers)

    def engine_run(engine: Callable[[], str], files: str = "csv") -> Callable[[Dataset], Report]:
        return lambda data: run([getattr(data, files)], engine(), Options())

    return [
        Rung("engine", "sqlite", "end to end", "the sqlite engine",
             "load by executemany, the anti-join in row order, the kernels",
             engine_run(lambda: f"sqlite:{folder / 'engine.sqlite'}"), _check_report(True),
             plan=lambda data: _sqlite_engine_plan()),
        Rung("engine", "postgres", "end to end", "the postgres engine",
             "binary COPY, row_number() dedup, exact ordered aggregates in SQL",
             engine_run(lambda: POSTGRES[0]), _check_report(True),
             plan=lambda data: postgres_plan()),
        Rung("csv", "duckdb", "end to end", "DuckDB over the CSV files",
             "read_csv, QUALIFY row_number() = 1, GROUP BY: no load step",
             engine_run(lambda: "duckdb"), _check_report(False), exact=False),
        Rung("parquet", "duckdb", "end to end", "DuckDB over the Parquet files",
             "the same SQL over read_parquet", engine_run(lambda: "duckdb", "parquet"),
             _check_report(False), plan=_duckdb_plan, exact=False),
        Rung("default", "pipeline", "end to end", "the pipeline's optimized default",
             f"columnar: native reader, {best()}, {workers} threads, no cache",
             lambda data: run([data.csv], "columnar", best_options), _check_report(True)),
    ]  # fmt: skip


# The postgres engine's server, set by whoever runs the ladder (the benchmark's fixture).
POSTGRES: list[str] = [""]


def _sqlite_engine_plan() -> str:
    db = sqlite3.connect(":memory:")
    db.execute(sqlite_db.SCHEMA[1])
    db.execute(sqlite_db.INDEX)
    rows = db.execute("EXPLAIN QUERY PLAN " + sqlite_db.KEPT_IN_ORDER).fetchall()
    return "\n".join(row[3] for row in rows)


def postgres_plan() -> str:
    """The postgres engine's aggregate, on the tables its last run left."""
    import psycopg

    with psycopg.connect(POSTGRES[0], autocommit=True) as db:
        db.execute(sql.KEPT)
        rows = db.execute("EXPLAIN (ANALYZE, COSTS OFF) " + postgres_db.AGGREGATE).fetchall()
        db.execute("DROP TABLE kept")
    return "\n".join(row[0] for row in rows)


def rungs(workers: int, folder: Path) -> list[Rung]:
    return [
        *database_rungs("sqlite"),
        *database_rungs("postgres"),
        *end_to_end_rungs(workers, folder),
    ]


@dataclass
class Place:
    """Where the ladder's databases live for one run: opened on first use, closed at the end."""

    folder: Path
    postgres_url: str = ""
    open: dict[tuple[str, int], Database] = field(default_factory=dict)

    def database(self, name: str, data: Dataset) -> Database:
        key = (name, data.rows)
        if key not in self.open:
            for (other, rows), db in list(self.open.items()):  # one size at a time
                if other == name:
                    db.close()
                    del self.open[(other, rows)]
            if name == "sqlite":
                self.open[key] = Sqlite(data, self.folder)
            else:
                self.open[key] = Postgres(data, self.postgres_url)
        return self.open[key]

    def close(self) -> None:
        for db in self.open.values():
            db.close()
        self.open.clear()
        shutil.rmtree(self.folder, ignore_errors=True)
