"""The pipeline's report: one format for every engine.

What an engine computes goes into :class:`Report`; :meth:`Report.results` is the part every
engine must produce identically (the parity tests compare it as JSON text, so -0.0 and 0.0
differ, as the contract says), the rest -- which engine, stage timings, memory, cache hits --
describes the run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Every engine's fingerprint: the sum, mod 2**64, of hash_rows(seed=0) over the kept rows.
FINGERPRINT_SEED = 0
# Timed stages, in order; an engine that fuses stages reports them together under one name.
STAGES = ("load", "dedup", "aggregate", "fingerprint")
VOLATILE = ("engine", "timings", "memory", "cache")


@dataclass
class Devices:
    """Per-device results, sorted by device id; minimum/maximum NaN where a device has no
    valid reading (its count is 0)."""

    device_id: np.ndarray  # int64
    count: np.ndarray  # int64
    total: np.ndarray  # float64: summed in the global input order
    minimum: np.ndarray
    maximum: np.ndarray

    def __len__(self) -> int:
        return len(self.device_id)

    @classmethod
    def from_lists(cls, rows: Sequence[tuple[int, int, float, float, float]]) -> Devices:
        """From (device_id, count, total, minimum, maximum) rows in any order."""
        ordered = sorted(rows)
        columns = list(zip(*ordered)) if ordered else [(), (), (), (), ()]
        return cls(
            np.array(columns[0], np.int64),
            np.array(columns[1], np.int64),
            np.array(columns[2], np.float64),
            np.array(columns[3], np.float64),
            np.array(columns[4], np.float64),
        )


def _number(value: float) -> float | str | None:
    """JSON has no NaN or infinities: a missing minimum is null; a total that overflowed to
    an infinity (possible only past 1.8e308 kWh) is written as the string "inf"/"-inf"."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _float(value: float | str | None) -> float:
    """The inverse of _number."""
    if value is None:
        return math.nan
    return float(value)


@dataclass
class Report:
    files: list[str]
    rows_read: int
    rows_rejected: int
    duplicates_dropped: int
    devices: Devices
    fingerprint: int  # in [0, 2**64)
    files_rejected: list[dict[str, Any]] = field(default_factory=list)
    engine: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds
    memory: dict[str, int] = field(default_factory=dict)  # bytes
    cache: dict[str, Any] = field(default_factory=dict)
    # every rejected record (hotpath.pipeline.errors.Reject), for --rejects; not in the JSON
    rejects: list[Any] = field(default_factory=list, repr=False)

    @property
    def rows_kept(self) -> int:
        return self.rows_read - self.rows_rejected - self.duplicates_dropped

    @property
    def fleet_total_kwh(self) -> float:
        # Exactly rounded (math.fsum), so it does not depend on how the totals are ordered.
        return math.fsum(self.devices.total.tolist())

    def device_rows(self) -> list[dict[str, Any]]:
        d = self.devices
        out = []
        for device, count, total, low, high in zip(
            d.device_id.tolist(),
            d.count.tolist(),
            d.total.tolist(),
            d.minimum.tolist(),
            d.maximum.tolist(),
        ):
            out.append(
                {
                    "device_id": device,
                    "count": count,
                    "total_kwh": _number(total),
                    "mean_kwh": _number(total / count) if count else None,
                    "min_kwh": _number(low),
                    "max_kwh": _number(high),
                }
            )
        return out

    def results(self) -> dict[str, Any]:
        """What every engine must agree on, bit for bit."""
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "duplicates_dropped": self.duplicates_dropped,
            "rows_kept": self.rows_kept,
            "files_rejected": self.files_rejected,
            "fleet_total_kwh": _number(self.fleet_total_kwh),
            "fingerprint": f"{self.fingerprint:016x}",
            "devices": self.device_rows(),
        }

    def stored(self) -> dict[str, Any]:
        """What the result cache keeps: the results and the rejected records."""
        rejects = [
            {"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw.hex()}
            for r in self.rejects
        ]
        return {"results": self.results(), "rejects": rejects}

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> Report:
        from hotpath.pipeline.errors import Reject

        results = stored["results"]
        rows = [
            (
                d["device_id"],
                d["count"],
                _float(d["total_kwh"]),
                _float(d["min_kwh"]),
                _float(d["max_kwh"]),
            )
            for d in results["devices"]
        ]
        return cls(
            files=results["files"],
            rows_read=results["rows_read"],
            rows_rejected=results["rows_rejected"],
            duplicates_dropped=results["duplicates_dropped"],
            devices=Devices.from_lists(rows),
            fingerprint=int(results["fingerprint"], 16),
            files_rejected=results["files_rejected"],
            rejects=[
                Reject(r["file"], r["line"], r["reason"], bytes.fromhex(r["raw"]))
                for r in stored["rejects"]
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        out = self.results()
        out.update(
            engine=self.engine,
            timings=self.timings,
            memory=self.memory,
            cache=self.cache,
        )
        return out

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def files_rejected(rejects: Sequence[Any]) -> list[dict[str, Any]]:
    """The report's entry for each file rejected whole (no header, say)."""
    return [{"file": r.file, "line": r.line, "reason": r.reason} for r in rejects]


def results_json(report: Report) -> str:
    """The comparable part as canonical JSON text (exact: floats round-trip through repr)."""
    return json.dumps(report.results(), sort_keys=True, allow_nan=False)


# Engines that sum in an order of their own (multi-threaded peers) must agree with the exact
# ones on everything but sums, and on sums this closely (relative; absolute near zero).
TOTAL_RTOL = 1e-12
TOTAL_ATOL = 1e-9
_SUMMED = ("total_kwh", "mean_kwh")


def mismatch(got: Report, want: Report, exact: bool = True) -> str | None:
    """None when ``got``'s results agree with ``want``'s, else the first difference. Exact:
    as JSON text (every float by its bits). Inexact: totals and means within TOTAL_RTOL,
    minima and maxima as values (a parallel min may keep either of 0.0 and -0.0)."""
    if results_json(got) == results_json(want):
        return None
    a, b = got.results(), want.results()
    for key in a:
        if key == "devices" or a[key] == b[key]:
            continue
        if exact or key != "fleet_total_kwh" or not _close(a[key], b[key]):
            return f"{key}: got {a[key]!r}, want {b[key]!r}"
    if len(a["devices"]) != len(b["devices"]):
        return f"devices: got {len(a['devices'])}, want {len(b['devices'])}"
    for mine, theirs in zip(a["devices"], b["devices"]):
        for field_name, value in mine.items():
            other = theirs[field_name]
            if value == other and (exact is False or repr(value) == repr(other)):
                continue
            if not exact and field_name in _SUMMED and _close(value, other):
                continue
            return f"device {mine['device_id']} {field_name}: got {value!r}, want {other!r}"
    return None


def _close(a: Any, b: Any) -> bool:
    if not isinstance(a, float) or not isinstance(b, float):
        return a == b
    return math.isclose(a, b, rel_tol=TOTAL_RTOL, abs_tol=TOTAL_ATOL)
