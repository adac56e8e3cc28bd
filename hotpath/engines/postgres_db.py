"""The readings in PostgreSQL (psycopg 3 and its pool): ``--engine postgres://USER@HOST/DB``.

``--engine postgres`` alone connects to ``HOTPATH_POSTGRES_URL``, else to libpq's defaults
(``PGHOST``, ``PGUSER``, ...). Needs the ``postgres`` extra: ``pip install -e ".[postgres]"``.

Each run replaces the tables (:mod:`hotpath.engines.sql`) in one transaction -- PostgreSQL's
DDL is transactional, so a load that fails (bad input, a lost connection, a server that goes
away) leaves no table half-written: the previous ones stay as they were. Rows go in by
``COPY ... FROM STDIN (FORMAT BINARY)``, built from the columns by NumPy; the primary key
and the index are built after the rows. Connections come from one pool per server, so the
runs of one process (the benchmark, a service) connect once.

PostgreSQL gives the reference's bits in SQL, given the order: ``sum(kwh ORDER BY row_order)``
adds in input order (float8pl: plain IEEE addition), and ``0.0 + `` that sum is the
reference's sum from 0.0 (they differ only when every reading is -0.0); ``min`` and ``max``
keep the *last* of equal values they see, so ``ORDER BY row_order DESC`` makes that the first
in input order (-0.0 before 0.0). The one exception: a total past 1.8e308 kWh, which
PostgreSQL refuses ("value out of range: overflow") where the reference gives infinity; then
the totals are computed from the kept rows, fetched in input order, by the native kernels.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hotpath.engines import fingerprint, sql
from hotpath.pipeline.analytics import Stopwatch
from hotpath.pipeline.engines import Options
from hotpath.pipeline.errors import PipelineError
from hotpath.pipeline.readers.base import Parsed, Reader
from hotpath.pipeline.report import Devices

ENVIRONMENT = "HOTPATH_POSTGRES_URL"
APPLICATION = "hotpath"
CONNECT_TIMEOUT = 10  # seconds
SCHEMA = (
    "CREATE TABLE files (file_no integer PRIMARY KEY, path text NOT NULL, "
    "first_row bigint NOT NULL, rows bigint NOT NULL, rows_read bigint NOT NULL)",
    "CREATE TABLE readings (row_order bigint NOT NULL, device_id bigint NOT NULL, "
    "timestamp bigint NOT NULL, kwh double precision)",
    "CREATE TABLE rejects (file_no integer NOT NULL, line bigint NOT NULL, "
    "reason text NOT NULL, raw bytea NOT NULL, whole_file boolean NOT NULL)",
)
# Built once the rows are in: one sort each instead of B-trees grown row by row.
AFTER_LOAD = (
    "ALTER TABLE readings ADD PRIMARY KEY (row_order)",
    "CREATE INDEX readings_key ON readings (device_id, timestamp, row_order)",
    "ANALYZE readings",  # the planner's statistics, before the first query
)
# Exact in SQL: see the module's docstring.
AGGREGATE = """SELECT device_id, count(kwh),
       coalesce(0.0::float8 + sum(kwh ORDER BY row_order), 0.0),
       min(kwh ORDER BY row_order DESC), max(kwh ORDER BY row_order DESC)
FROM kept GROUP BY device_id"""
KEPT_ROWS = "SELECT device_id, timestamp, coalesce(kwh, 'NaN') FROM kept"

# COPY's binary format: a signature, flags and a header extension's length; then per row a
# field count and each field as its length and big-endian bytes (length -1: NULL); -1 ends.
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + bytes(8)
TRAILER = b"\xff\xff"
ROW_IN = np.dtype(
    [("fields", ">i2"), ("n0", ">i4"), ("row_order", ">i8"), ("n1", ">i4"), ("device_id", ">i8"),
     ("n2", ">i4"), ("timestamp", ">i8"), ("n3", ">i4"), ("kwh", ">f8")]
)  # fmt: skip


def copy_dtype(*columns: tuple[str, str]) -> np.dtype:
    """One row of COPY's binary output of fixed-width columns without NULLs: the field
    count, then each field's length and value."""
    fields: list[tuple[str, str]] = [("fields", ">i2")]
    for k, (name, kind) in enumerate(columns):
        fields += [(f"n{k}", ">i4"), (name, kind)]
    return np.dtype(fields)


ROW_OUT = copy_dtype(("device_id", ">i8"), ("timestamp", ">i8"), ("kwh", ">f8"))
KWH_AT = ROW_IN.fields["kwh"][1]
CHUNK = 1 << 17  # rows per COPY message built at once


def copy_rows(first_row: int, ids: np.ndarray, stamps: np.ndarray, kwh: np.ndarray) -> bytes:
    """Rows in COPY's binary format (no header): a missing kwh is sent as NULL, its 8 bytes
    cut out of the fixed-width rows by one boolean mask."""
    n = len(ids)
    rows = np.empty(n, ROW_IN)
    rows["fields"] = 4
    for length in ("n0", "n1", "n2", "n3"):
        rows[length] = 8
    rows["row_order"] = np.arange(first_row, first_row + n)
    rows["device_id"], rows["timestamp"], rows["kwh"] = ids, stamps, kwh
    missing = np.isnan(kwh)
    if not missing.any():
        return rows.tobytes()
    rows["n3"][missing] = -1
    keep = np.ones((n, ROW_IN.itemsize), bool)
    keep[missing, KWH_AT:] = False
    return rows.view(np.uint8).reshape(n, ROW_IN.itemsize)[keep].tobytes()


def parse_rows(data: bytes | bytearray, dtype: np.dtype = ROW_OUT) -> np.ndarray:
    """COPY's binary output of fixed-width rows without NULLs (``copy_dtype``), as one array."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not COPY's binary format")
    start = len(SIGNATURE) + 8 + int.from_bytes(data[len(SIGNATURE) + 4 : len(SIGNATURE) + 8])
    body = memoryview(data)[start : len(data) - len(TRAILER)]
    rows = np.frombuffer(body, dtype)
    names = dtype.names[1:]  # length, value, length, value, ...
    expected = [(length, dtype[value].itemsize) for length, value in zip(names[::2], names[1::2])]
    if len(rows) and not (
        (rows["fields"] == len(expected)).all()
        and all((rows[length] == size).all() for length, size in expected)
    ):
        raise ValueError("unexpected row layout in COPY's output")
    return rows


def copy_out(cursor: Any, query: str, dtype: np.dtype = ROW_OUT) -> np.ndarray:
    """A query's rows (fixed-width, no NULLs) by binary COPY, parsed by NumPy."""
    data = bytearray()
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
        for block in copy:
            data += block
    return parse_rows(data, dtype)


class Server:
    """One server's connection pool, made on first use: a direct connection first, so that a
    refused connection or a wrong password is reported at once in libpq's words (a pool would
    retry in the background until its timeout)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._pool: Any = None
        self._lock = threading.Lock()

    def pool(self) -> Any:
        import psycopg
        from psycopg_pool import ConnectionPool

        with self._lock:
            if self._pool is None:
                settings = {
                    "autocommit": True,
                    "application_name": APPLICATION,
                    "connect_timeout": CONNECT_TIMEOUT,
                }
                psycopg.connect(self.conninfo, **settings).close()
                self._pool = ConnectionPool(
                    self.conninfo,
                    kwargs=settings,
                    min_size=1,
                    max_size=4,
                    timeout=CONNECT_TIMEOUT,
                    check=ConnectionPool.check_connection,  # a connection the server dropped
                    open=True,
                )
                atexit.register(self._pool.close)
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def describe_server(conninfo: str) -> str:
    """user@host:port/dbname, never the password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(conninfo)
    except Exception:
        return "PostgreSQL (unparsable connection string)"
    host = parts.get("host") or os.environ.get("PGHOST") or "localhost"
    port = parts.get("port") or os.environ.get("PGPORT") or "5432"
    user = parts.get("user") or os.environ.get("PGUSER") or ""
    name = parts.get("dbname") or os.environ.get("PGDATABASE") or user
    return f"PostgreSQL at {user + '@' if user else ''}{host}:{port}/{name}"


def _words(error: Exception) -> str:
    text = str(error).strip().removeprefix("connection failed: ")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


class PostgresEngine(sql.DatabaseEngine):
    name = "postgres"
    description = "PostgreSQL: binary COPY in one transaction, dedup and exact aggregates in SQL"

    def __init__(self, conninfo: str | None = None) -> None:
        self.given = conninfo  # None: from the environment at run time
        self._servers: dict[str, Server] = {}

    def configured(self, parameter: str) -> PostgresEngine:
        return PostgresEngine(parameter)

    def available(self) -> str:
        import importlib.util

        for module in ("psycopg", "psycopg_pool"):
            if importlib.util.find_spec(module) is None:
                return f"{module} not installed: pip install -e '.[postgres]'"
        return ""

    def conninfo(self) -> str:
        return self.given if self.given is not None else os.environ.get(ENVIRONMENT, "")

    def where(self) -> str:
        return describe_server(self.conninfo())

    def server(self) -> Server:
        conninfo = self.conninfo()
        if conninfo not in self._servers:
            self._servers[conninfo] = Server(conninfo)
        return self._servers[conninfo]

    @contextmanager
    def session(self) -> Iterator[Any]:
        import psycopg
        import psycopg_pool

        try:
            pool = self.server().pool()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            raise PipelineError(f"{self.where()}: cannot connect: {_words(error)}") from None
        try:
            with pool.connection() as db:
                yield db
        except psycopg_pool.PoolTimeout as error:
            raise PipelineError(f"{self.where()}: cannot connect: {_words(error)}") from None
        except psycopg.OperationalError as error:
            raise PipelineError(
                f"{self.where()}: the connection failed during the run, nothing of it was "
                f"committed: {_words(error)}"
            ) from None
        except psycopg.Error as error:
            raise PipelineError(f"{self.where()}: {_words(error)}") from None

    def load(self, db: Any, files: Sequence[Path], reader: Reader, options: Options) -> sql.Loaded:
        cursor = db.cursor()

        def write(file_no: int, first_row: int, parsed: Parsed) -> None:
            ids, stamps, kwh = sql.columns(parsed)
            with cursor.copy("COPY readings FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(HEADER)
                for start in range(0, len(ids), CHUNK):
                    part = slice(start, start + CHUNK)
                    copy.write(copy_rows(first_row + start, ids[part], stamps[part], kwh[part]))
                copy.write(TRAILER)
            cursor.execute(
                "INSERT INTO files VALUES (%s, %s, %s, %s, %s)",
                (file_no, parsed.path, first_row, parsed.rows, parsed.rows_read),
            )
            rejects = sql.reject_rows(file_no, parsed)
            if rejects:
                cursor.executemany("INSERT INTO rejects VALUES (%s, %s, %s, %s, %s)", rejects)

        with db.transaction():
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(sql.TABLES)}")
            for statement in SCHEMA:
                cursor.execute(statement)
            loaded = sql.load_files(files, reader, write, options.on_bad_row, options.progress)
            for statement in AFTER_LOAD:
                cursor.execute(statement)
        return loaded

    def analyse(self, db: Any, clock: Stopwatch) -> tuple[int, Devices, int]:
        import psycopg

        cursor = db.cursor()

        def dedup() -> int:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.kept")
            cursor.execute(sql.KEPT)
            return cursor.rowcount

        kept = clock.time("dedup", dedup)
        try:
            found = clock.time("aggregate", lambda: cursor.execute(AGGREGATE).fetchall())
            devices = Devices.from_lists(found)
        except psycopg.errors.NumericValueOutOfRange:  # a total past the largest float
            rows = clock.time("aggregate", lambda: self.fetch(cursor, " ORDER BY row_order"))
            columns = (np.ascontiguousarray(rows[n]) for n in ("device_id", "timestamp", "kwh"))
            devices, print_ = sql.native_analytics(*columns, clock)
            cursor.execute("DROP TABLE kept")
            return kept, devices, print_

        def hashing() -> int:
            rows = self.fetch(cursor)
            return fingerprint(rows["device_id"], rows["timestamp"], rows["kwh"])

        print_ = clock.time("fingerprint", hashing)
        cursor.execute("DROP TABLE kept")
        return kept, devices, print_

    @staticmethod
    def fetch(cursor: Any, order: str = "") -> np.ndarray:
        """The kept rows by binary COPY: fixed-width rows, parsed by NumPy."""
        return copy_out(cursor, KEPT_ROWS + order)

    def describe(self, db: Any) -> dict[str, Any]:
        return {"server_version": db.info.parameter_status("server_version") or ""}


ENGINE = PostgresEngine()
