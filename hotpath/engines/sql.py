"""What the database engines (SQLite, PostgreSQL) share: the schema, the load through the
pipeline's readers in one transaction, duplicates found in SQL, and the run that makes the
report.

The schema keeps the input order, so "first occurrence" and in-order sums stay exact::

    files    (file_no, path, first_row, rows, rows_read)   one row per input file, in order
    readings (row_order, device_id, timestamp, kwh)         kwh NULL for a missing reading
    rejects  (file_no, line, reason, raw, whole_file)       every rejected record, verbatim

``row_order`` is the row's position in the whole input (file after file, row after row), so
file ``f``'s rows are ``first_row .. first_row + rows - 1``: the file index and the row within
it without two columns. ``device_id`` and ``timestamp`` are 64-bit integers. Each run replaces
the three tables in one transaction: a load that fails (bad input, a lost connection) leaves
the previous tables as they were.

Duplicates are found in SQL, in input order: by numbering each (device_id, timestamp)'s rows
-- ``row_number() OVER (PARTITION BY device_id, timestamp ORDER BY row_order)`` -- and keeping
number 1 (``KEPT``), or by keeping each row that no earlier row has the key of (``FIRST``).
The per-device totals need the input order too; each engine says how it gets them bit for
bit (``analyse``). The fingerprint (XXH64 of each kept row) is no database's: the
kept rows are fetched and hashed by the fastest backend, as the peers do.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotpath import backends
from hotpath.pipeline.analytics import Stopwatch, analyse, best_backend
from hotpath.pipeline.engines import Options
from hotpath.pipeline.errors import Reject
from hotpath.pipeline.loading import check
from hotpath.pipeline.readers.base import Parsed, Reader
from hotpath.pipeline.report import Devices, Report, files_rejected

TABLES = ("readings", "files", "rejects")
# Each row numbered within its (device_id, timestamp) in input order: number 1 is kept.
NUMBERED = """SELECT row_order, device_id, timestamp, kwh,
       row_number() OVER (PARTITION BY device_id, timestamp ORDER BY row_order) AS nth
FROM readings"""
KEPT = f"""CREATE TEMP TABLE kept AS
SELECT row_order, device_id, timestamp, kwh FROM ({NUMBERED}) AS numbered WHERE nth = 1"""
# The same rows as an anti-join: with an index on (device_id, timestamp, row_order) each row
# is one index probe, and the rows come out in input order, unsorted.
FIRST = """FROM readings AS r WHERE NOT EXISTS (
    SELECT 1 FROM readings AS e
    WHERE e.device_id = r.device_id AND e.timestamp = r.timestamp AND e.row_order < r.row_order)"""


@dataclass
class Loaded:
    """What the load stage tells the report."""

    files: list[str]
    rows: int = 0  # accepted rows: row_order runs 0 .. rows - 1
    rows_read: int = 0
    rejects: list[Reject] = field(default_factory=list)
    files_rejected: list[Reject] = field(default_factory=list)


Writer = Callable[[int, int, Parsed], None]  # (file_no, first_row, parsed): insert its rows


def parsed_files(files: Sequence[Path], reader: Reader) -> Iterator[tuple[int, Path, Parsed]]:
    """Each file read, in order, the next one read ahead while the caller writes this one
    (the native reader releases the GIL, so parsing overlaps the inserts)."""
    if not files:
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        ahead = pool.submit(reader.read, files[0])
        for k, path in enumerate(files):
            parsed = ahead.result()
            if k + 1 < len(files):
                ahead = pool.submit(reader.read, files[k + 1])
            yield k, path, parsed


def load_files(
    files: Sequence[Path],
    reader: Reader,
    write: Writer,
    on_bad_row: str = "error",
    progress: Callable[[Path], None] | None = None,
) -> Loaded:
    """Read ``files`` in order with the pipeline's bad-row policy (loading.check: the run's
    first bad record stops it) and hand each file's rows to ``write``. The caller holds the
    transaction: an exception here means nothing is committed."""
    loaded = Loaded([str(f) for f in files])
    for file_no, path, parsed in parsed_files(files, reader):
        check(parsed, on_bad_row)
        write(file_no, loaded.rows, parsed)
        loaded.rows += parsed.rows
        loaded.rows_read += parsed.rows_read
        loaded.rejects += parsed.rejects
        if parsed.file_error is not None:
            loaded.files_rejected.append(parsed.file_error)
        if progress is not None:
            progress(path)
    return loaded


def reject_rows(file_no: int, parsed: Parsed) -> list[tuple[int, int, str, bytes, bool]]:
    """The rejects table's rows for one file."""
    whole = parsed.file_error is not None
    return [(file_no, r.line, r.reason, r.raw, whole) for r in parsed.rejects]


def columns(parsed: Parsed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A file's rows as the three typed columns, whatever the reader returned."""
    return (
        np.asarray(parsed.device_id, np.uint32),
        np.asarray(parsed.timestamp, np.int64),
        np.asarray(parsed.kwh, np.float64),
    )


def native_analytics(
    device_id: np.ndarray, timestamp: np.ndarray, kwh: np.ndarray, clock: Stopwatch
) -> tuple[Devices, int]:
    """(devices, fingerprint) of rows fetched in input order, by the fastest backend's
    kernels. Its duplicate scan runs too and must find none: the rows are SQL's kept ones,
    so this checks SQL's dedup against the kernel's."""
    own = Stopwatch()
    dropped, devices, print_ = analyse(
        device_id, timestamp, kwh, backends.load(best_backend()), own
    )
    if dropped:
        raise AssertionError(f"SQL kept {dropped} rows that the duplicates kernel drops")
    for stage in ("aggregate", "fingerprint"):
        clock.timings[stage] = clock.timings.get(stage, 0.0) + own.timings[stage]
    return devices, print_


class DatabaseEngine:
    """A run against one database: ``session`` gives a connection (errors in the user's
    words), the subclass the dialect's parts."""

    name = ""
    description = ""
    uses = ("reader", "on_bad_row")
    exact = True  # every figure in input order, bit for bit (see aggregate)

    def available(self) -> str:
        return ""

    def where(self) -> str:
        """The database, for the report and for messages (no password)."""
        raise NotImplementedError

    def session(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def load(self, db: Any, files: Sequence[Path], reader: Reader, options: Options) -> Loaded:
        """Replace the tables with ``files``' rows in one transaction."""
        raise NotImplementedError

    def analyse(self, db: Any, clock: Stopwatch) -> tuple[int, Devices, int]:
        """(rows kept, devices, fingerprint) of the loaded tables, exact; each stage timed
        into ``clock`` (dedup, aggregate, fingerprint)."""
        raise NotImplementedError

    def describe(self, db: Any) -> dict[str, Any]:
        return {}

    def run(self, files: Sequence[Path], options: Options) -> Report:
        from hotpath.pipeline.columnar import _reader_for

        reader = _reader_for(files, options.reader)
        why = reader.available()
        if why:
            raise backends.BackendUnavailable(f"reader {reader.name} is unavailable: {why}")
        clock = Stopwatch()
        with self.session() as db:
            loaded = clock.time("load", lambda: self.load(db, files, reader, options))
            kept, devices, print_ = self.analyse(db, clock)
            engine = {"name": self.name, "database": self.where(), "reader": reader.name}
            engine.update(self.describe(db))
        return Report(
            files=loaded.files,
            rows_read=loaded.rows_read,
            rows_rejected=len(loaded.rejects),
            duplicates_dropped=loaded.rows - kept,
            devices=devices,
            fingerprint=print_,
            files_rejected=files_rejected(loaded.files_rejected),
            engine=engine,
            timings=clock.timings,
            rejects=loaded.rejects,
        )
