"""What runs inside Spark's Python workers, on Arrow batches: reading files with hotpath's
readers, and the pipeline's kernels over the rows of whole devices.

Everything here is a module-level function (given its parameters through functools.partial),
so Spark pickles it by reference and the workers import it from the installed hotpath.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hotpath import backends
from hotpath.pipeline import readers
from hotpath.pipeline.analytics import Stopwatch, analyse
from hotpath.pipeline.errors import Reject
from hotpath.pipeline.readers.base import Parsed

# input_order = file index << ORDER_SHIFT | row within the file: one long that sorts as the
# pipeline reads (files in order, each file's rows in order).
ORDER_SHIFT = 40
MAX_FILES = 1 << (63 - ORDER_SHIFT)
CHUNK = 1 << 20  # rows per batch handed back to Spark

LOADED = pa.schema(
    [
        ("input_order", pa.int64()),
        ("device_id", pa.int64()),  # Spark has no unsigned types: a uint32 travels as a long
        ("timestamp", pa.int64()),
        ("kwh", pa.float64()),
        # null for a reading; else what the reader said about the file, as JSON (see note)
        ("note", pa.string()),
    ]
)
STATS = pa.schema(
    [
        ("device_id", pa.int64()),  # null on a row that carries only a partition's totals
        ("count", pa.int64()),
        ("total", pa.float64()),
        ("minimum", pa.float64()),
        ("maximum", pa.float64()),
        ("dropped", pa.int64()),
        ("fingerprint", pa.int64()),  # a uint64 partial sum, its bits as a long
    ]
)


def reader_for(path: str, name: str) -> Any:
    suffix = Path(path).suffix
    return readers.for_suffix(suffix) if suffix in readers.BINARY else readers.get(name)


def _reject(r: Reject, kind: str) -> dict[str, Any]:
    return {"kind": kind, "line": r.line, "reason": r.reason, "raw": r.raw.hex()}


def notes(parsed: Parsed) -> list[dict[str, Any]]:
    """What the driver needs besides the rows: rows read, every reject, a file's fault."""
    found = [{"kind": "file", "rows_read": parsed.rows_read}]
    if parsed.file_error is not None:
        found.append(_reject(parsed.file_error, "file_error"))
    found += [_reject(r, "reject") for r in parsed.rejects]
    return found


def read_file(index: int, path: str, reader: str) -> Iterator[pa.RecordBatch]:
    """One file as batches of LOADED: its rows with their input order, then its notes."""
    parsed = reader_for(path, reader).read(Path(path))
    ids = np.asarray(parsed.device_id, np.int64)
    stamps = np.asarray(parsed.timestamp, np.int64)
    kwh = np.asarray(parsed.kwh, np.float64)
    base = index << ORDER_SHIFT
    for start in range(0, len(ids), CHUNK):
        part = slice(start, start + CHUNK)
        order = np.arange(start, start + len(ids[part]), dtype=np.int64) + base
        yield pa.RecordBatch.from_arrays(
            [order, ids[part], stamps[part], kwh[part], pa.nulls(len(order), pa.string())],
            schema=LOADED,
        )
    found = notes(parsed)
    yield pa.RecordBatch.from_arrays(
        [
            pa.array([base] * len(found), pa.int64()),
            pa.nulls(len(found), pa.int64()),
            pa.nulls(len(found), pa.int64()),
            pa.nulls(len(found), pa.float64()),
            pa.array([json.dumps(n) for n in found], pa.string()),
        ],
        schema=LOADED,
    )


def read_files(
    paths: list[str], reader: str, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """mapInArrow over spark.range(len(paths)): each id names a file to read."""
    for batch in batches:
        for index in batch.column(0).to_pylist():
            yield from read_file(index, paths[index], reader)


def _stats(dropped: int, devices: Any, fingerprint: int, partition_row: bool) -> pa.RecordBatch:
    """Per-device rows; the partial dropped count and fingerprint on an extra row with a null
    device (partition_row), or on the one device's row (a group of one device)."""
    n = len(devices)
    ids = pa.array(devices.device_id, pa.int64())
    extra_dropped = np.zeros(n, np.int64)
    extra_print = np.zeros(n, np.int64)
    signed = np.array([fingerprint], np.uint64).view(np.int64)[0]
    if partition_row:
        ids = pa.concat_arrays([ids, pa.nulls(1, pa.int64())])
        pad = np.array([0])
        columns = [
            np.concatenate([devices.count, pad]),
            np.concatenate([devices.total, [np.nan]]),
            np.concatenate([devices.minimum, [np.nan]]),
            np.concatenate([devices.maximum, [np.nan]]),
            np.concatenate([extra_dropped, [dropped]]),
            np.concatenate([extra_print, [signed]]),
        ]
    else:
        extra_dropped[:] = dropped
        extra_print[:] = signed
        columns = [
            devices.count,
            devices.total,
            devices.minimum,
            devices.maximum,
            extra_dropped,
            extra_print,
        ]
    types = [f.type for f in list(STATS)[1:]]
    arrays = [ids] + [pa.array(np.asarray(c)).cast(t) for c, t in zip(columns, types)]
    return pa.RecordBatch.from_arrays(arrays, schema=STATS)


def _analyse(table: pa.Table, backend: str) -> tuple[int, Any, int]:
    ids = table.column("device_id").to_numpy().astype(np.uint32)
    stamps = table.column("timestamp").to_numpy()
    kwh = table.column("kwh").to_numpy()
    return analyse(ids, stamps, kwh, backends.load(backend), Stopwatch())


def partition_stats(backend: str, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow over a partition holding all rows of its devices, sorted by input_order:
    the pipeline's own dedup, aggregate and fingerprint over it, one kernel call each. Every
    device's readings meet in input order, so its total is python_ref's, bit for bit."""
    found = [batch for batch in batches if batch.num_rows]
    if not found:
        return
    table = pa.Table.from_batches(found)
    yield _stats(*_analyse(table, backend), partition_row=True)


def group_stats(backend: str, table: pa.Table) -> pa.Table:
    """applyInArrow over one device's rows, in any order: sorted by input_order first."""
    table = table.sort_by("input_order")
    return pa.Table.from_batches([_stats(*_analyse(table, backend), partition_row=False)])


PARTIALS = pa.schema(
    [
        ("device_id", pa.int64()),
        ("count", pa.int64()),
        ("total", pa.float64()),
        ("minimum", pa.float64()),
        ("maximum", pa.float64()),
    ]
)
FINGERPRINTS = pa.schema([("fingerprint", pa.int64())])
KEPT = pa.schema([("kept", pa.int64())])


def partial_aggregates(backend: str, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow, no shuffle before it: each batch's per-device partials by the backend's
    factorize and aggregate (partials of a device from several batches are merged after)."""
    kernels = backends.load(backend)
    for batch in batches:
        ids = batch.column("device_id").to_numpy().astype(np.uint32)
        kwh = batch.column("kwh").to_numpy()
        codes, uniques = kernels.factorize(ids)
        count, total, low, high = kernels.aggregate(np.asarray(codes, np.uint32), kwh, len(uniques))
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.asarray(uniques, np.int64)), *(pa.array(np.asarray(c)) for c in
             (np.asarray(count, np.int64), total, low, high))],
            schema=PARTIALS,
        )  # fmt: skip


def partial_fingerprints(
    backend: str, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """mapInArrow: hash_rows over each batch, summed mod 2**64, one long (its bits) a batch."""
    kernels = backends.load(backend)
    for batch in batches:
        hashes = kernels.hash_rows(
            batch.column("device_id").to_numpy().astype(np.uint32),
            batch.column("timestamp").to_numpy(),
            batch.column("kwh").to_numpy(),
            0,
        )
        total = np.sum(np.asarray(hashes, np.uint64), dtype=np.uint64)
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.array([total], np.uint64).view(np.int64))], schema=FINGERPRINTS
        )


def partition_kept(backend: str, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow over whole devices sorted by input_order: the backend's duplicates, the
    rows kept counted (the first occurrence kept, exactly)."""
    found = [batch for batch in batches if batch.num_rows]
    if not found:
        return
    table = pa.Table.from_batches(found)
    dup = backends.load(backend).duplicates(
        table.column("device_id").to_numpy().astype(np.uint32),
        table.column("timestamp").to_numpy(),
    )
    kept = table.num_rows - int(np.count_nonzero(np.asarray(dup)))
    yield pa.RecordBatch.from_arrays([pa.array([kept], pa.int64())], schema=KEPT)


def row_hash(device_id: int, timestamp: int, kwh: float) -> int:
    """A row UDF's body: hash_rows of one row (XXH64 of struct.pack("<Iqd"), the xxhash
    package), as a signed long."""
    import struct

    import xxhash

    value = xxhash.xxh64_intdigest(struct.pack("<Iqd", device_id, timestamp, kwh), 0)
    return value - (1 << 64) if value >= 1 << 63 else value


def missing_as_null(kwh: float | None) -> float | None:
    """A row UDF's body: a missing reading (NaN) as SQL's null."""
    return None if kwh is None or kwh != kwh else kwh


def group_stats_of(backend: str) -> Any:
    """group_stats for applyInArrow: a plain function without type hints (PySpark reads a
    function's hints to choose the UDF type, and fails on a functools.partial)."""

    def apply(table):  # type: ignore[no-untyped-def]
        return group_stats(backend, table)

    return apply
