"""Other systems doing the pipeline's job, on the same files, with the same report.

The peers a user would pick instead of writing the program -- polars, DuckDB, pandas -- each
run as such a user would write them, in their own idiom (``*_job.py``); the readings in a
database (``sqlite_db``, ``postgres_db``, sharing ``sql``); the distributed ones are in
:mod:`hotpath.distributed`.
Each is an engine of :mod:`hotpath.pipeline.engines`: it takes the files and returns a
:class:`~hotpath.pipeline.report.Report`, and the parity tests hold its results to everyone
else's -- exactly for counts, duplicates, minima and maxima and the
fingerprint, and within ``TOTAL_RTOL`` for totals where the engine sums in an order of its
own (a multi-threaded group-by does).

The fingerprint is XXH64 of each kept row, which no peer computes: each hands its kept
columns to the fastest hotpath backend's ``hash_rows``, and that transfer is timed with it.
A peer's own parser decides what it accepts; when it fails, the reference reader finds the
file and line to report (:func:`diagnose`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hotpath import backends
from hotpath.pipeline.analytics import FINGERPRINT_CHUNK, Stopwatch, best_backend
from hotpath.pipeline.errors import BadInput, PipelineError
from hotpath.pipeline.readers.stdlib_csv import StdlibReader
from hotpath.pipeline.report import FINGERPRINT_SEED, Devices, Report


def diagnose(files: Sequence[Path], engine: str, error: Exception) -> Exception:
    """What to raise when a peer fails on the files: the first bad record the reference
    reader finds (file:line), else the peer's own complaint, named."""
    reader = StdlibReader()
    for path in files:
        parsed = reader.read(path)
        first = parsed.file_error or (parsed.rejects[0] if parsed.rejects else None)
        if first is not None:
            return BadInput(first)
    return PipelineError(f"engine {engine} failed on valid input: {type(error).__name__}: {error}")


def fingerprint(device_id: Any, timestamp: Any, kwh: Any) -> int:
    """Sum mod 2**64 of hash_rows over the given (kept) rows, by the fastest backend."""
    hash_rows = backends.load(best_backend()).hash_rows
    ids = np.ascontiguousarray(device_id, np.uint32)
    stamps = np.ascontiguousarray(timestamp, np.int64)
    values = np.ascontiguousarray(kwh, np.float64)
    missing = np.isnan(values)
    if missing.any():  # one NaN for a missing reading, whatever the peer made of it
        values = values.copy()
        values[missing] = np.nan
    total = 0
    for start in range(0, len(ids), FINGERPRINT_CHUNK):
        part = slice(start, start + FINGERPRINT_CHUNK)
        total += int(hash_rows(ids[part], stamps[part], values[part], FINGERPRINT_SEED).sum())
    return total % 2**64


class PeerJob:
    """A peer's run: CSV files in, a Report out; subclasses provide ``job``."""

    name = ""
    description = ""
    module = ""  # what must be importable
    uses: tuple[str, ...] = ()
    exact = False  # multi-threaded sums: their own order
    suffixes: tuple[str, ...] = (".csv",)  # the formats its job reads

    def available(self) -> str:
        import importlib.util

        return "" if importlib.util.find_spec(self.module) else f"{self.module} not installed"

    def job(
        self, files: list[str], clock: Stopwatch
    ) -> tuple[int, int, Devices, Callable[[], int]]:
        """(rows read, duplicates dropped, devices, the fingerprint's computation)."""
        raise NotImplementedError

    def run(self, files: Sequence[Path], options: Any) -> Report:
        if any(f.suffix not in self.suffixes for f in files):
            raise PipelineError(f"engine {self.name} reads {', '.join(self.suffixes)} files only")
        clock = Stopwatch()
        names = [str(f) for f in files]
        try:
            rows, dropped, devices, hashing = self.job(names, clock)
            print_ = clock.time("fingerprint", hashing)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # the peer said no (or panicked): where, in our words
            raise diagnose(files, self.name, error) from error
        return Report(
            files=names,
            rows_read=rows,
            rows_rejected=0,
            duplicates_dropped=dropped,
            devices=devices,
            fingerprint=print_,
            engine={"name": self.name},
            timings=clock.timings,
        )


def devices_from(ids: Any, count: Any, total: Any, low: Any, high: Any) -> Devices:
    """Per-device columns from a peer (in device order), nulls as NaN."""
    return Devices(
        np.asarray(ids, np.int64),
        np.asarray(count, np.int64),
        np.asarray(total, np.float64),
        np.asarray(low, np.float64),
        np.asarray(high, np.float64),
    )
