"""The "before": the energy monitor as it is commonly first written.

One object per reading, read with the ``csv`` module; duplicates found by comparing each
reading with every earlier one (O(n**2): minutes at 100,000 readings, which is the point);
per-device statistics accumulated in a dict; each kept row fingerprinted with the ``xxhash``
package. Plain and correct -- it gives the same report as every other engine -- and slow in
the ways real programs are slow. ``hotpath.pipeline.objects`` changes one thing: the
duplicate scan.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import xxhash

from hotpath.pipeline.analytics import Stopwatch
from hotpath.pipeline.engines import Options
from hotpath.pipeline.errors import BadInput, PipelineError, Reject
from hotpath.pipeline.grammar import FieldError
from hotpath.pipeline.readers.stdlib_csv import Records
from hotpath.pipeline.report import FINGERPRINT_SEED, Devices, Report, files_rejected

ROW = struct.Struct("<Iqd")  # what hash_rows hashes: the contract's 20-byte row


@dataclass
class Reading:
    device_id: int
    timestamp: int
    kwh: float  # NaN: a missing reading


@dataclass
class Loaded:
    readings: list[Reading]
    rows_read: int
    rejects: list[Reject]
    files_rejected: list[Reject]


def read_readings(files: Sequence[Path], on_bad_row: str) -> Loaded:
    readings: list[Reading] = []
    rejects: list[Reject] = []
    broken: list[Reject] = []
    rows = 0

    def reject(bad: Reject) -> None:
        if on_bad_row == "error":
            raise BadInput(bad)
        rejects.append(bad)

    for path in files:
        records = Records(path)
        for record in records:
            if isinstance(record, Reject):
                reject(record)
                continue
            try:
                device, stamp, kwh = records.values(record)
            except FieldError as error:
                reject(records.rejected(record, error))
                continue
            readings.append(Reading(device, stamp, kwh))
        rows += records.rows_read
        if records.file_error is not None:
            if on_bad_row == "error":
                raise BadInput(records.file_error)
            broken.append(records.file_error)
    return Loaded(readings, rows, rejects, broken)


def drop_duplicates(readings: list[Reading]) -> list[Reading]:
    """Keep each reading unless an earlier one has its device and timestamp."""
    kept = []
    for i, reading in enumerate(readings):
        repeated = False
        for j in range(i):
            earlier = readings[j]
            if earlier.device_id == reading.device_id and earlier.timestamp == reading.timestamp:
                repeated = True
                break
        if not repeated:
            kept.append(reading)
    return kept


def per_device(readings: list[Reading]) -> Devices:
    """count, total (in input order), minimum and maximum (the first of equal values wins)
    of each device's valid readings."""
    stats: dict[int, list] = {}
    for r in readings:
        entry = stats.setdefault(r.device_id, [0, 0.0, math.nan, math.nan])
        if math.isnan(r.kwh):
            continue
        if entry[0] == 0:
            entry[2] = entry[3] = r.kwh
        elif r.kwh < entry[2]:
            entry[2] = r.kwh
        elif r.kwh > entry[3]:
            entry[3] = r.kwh
        entry[0] += 1
        entry[1] += r.kwh
    return Devices.from_lists([(device, *entry) for device, entry in stats.items()])


def fingerprint(readings: list[Reading]) -> int:
    total = 0
    for r in readings:
        row = ROW.pack(r.device_id, r.timestamp, r.kwh)
        total += xxhash.xxh64_intdigest(row, seed=FINGERPRINT_SEED)
    return total % 2**64


class Naive:
    name = "naive"
    description = "objects, csv module, pairwise duplicate scan, dicts (the before)"
    uses: tuple[str, ...] = ("on_bad_row",)
    exact = True
    dedup = staticmethod(drop_duplicates)

    def available(self) -> str:
        return ""

    def run(self, files: Sequence[Path], options: Options) -> Report:
        if any(f.suffix != ".csv" for f in files):
            raise PipelineError(f"engine {self.name} reads CSV files only")
        clock = Stopwatch()
        loaded = clock.time("load", lambda: read_readings(files, options.on_bad_row))
        kept = clock.time("dedup", lambda: self.dedup(loaded.readings))
        devices = clock.time("aggregate", lambda: per_device(kept))
        print_ = clock.time("fingerprint", lambda: fingerprint(kept))
        return Report(
            files=[str(f) for f in files],
            rows_read=loaded.rows_read,
            rows_rejected=len(loaded.rejects),
            duplicates_dropped=len(loaded.readings) - len(kept),
            devices=devices,
            fingerprint=print_,
            files_rejected=files_rejected(loaded.files_rejected),
            engine={"name": self.name},
            timings=clock.timings,
            rejects=loaded.rejects,
        )


ENGINE = Naive()
