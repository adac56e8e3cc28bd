"""Deterministic, realistic meter readings for tests and benchmarks.

A fleet of smart plugs and meters reports energy used per 15-minute interval.
Each device has its own base load and a daily cycle; readings arrive in time
order across the fleet. Two flaws of real telemetry are built in: a share of
readings is retransmitted (the same device and timestamp again, a little later
in the stream), and a share is missing (NaN). The same seed always gives the
same bits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hotpath import csvio
from hotpath.contract import ID_DTYPE, KWH_DTYPE, TIMESTAMP_DTYPE

DEFAULT_READINGS = 100_000
DEFAULT_DEVICES = 1_000
DEFAULT_SEED = 20260101
INTERVAL = 900  # seconds between two readings of one device
START = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400


@dataclass(frozen=True)
class Readings:
    """Columnar readings, in the canonical dtypes the kernels take."""

    device_id: npt.NDArray[np.uint32]
    timestamp: npt.NDArray[np.int64]
    kwh: npt.NDArray[np.float64]
    n_devices: int

    def __post_init__(self) -> None:
        if not len(self.device_id) == len(self.timestamp) == len(self.kwh):
            raise ValueError("columns differ in length")

    def __len__(self) -> int:
        return len(self.device_id)

    def as_lists(self) -> csvio.Columns:
        """The columns as Python lists, the input python_ref is timed on."""
        return self.device_id.tolist(), self.timestamp.tolist(), self.kwh.tolist()

    def to_csv(self, path: str | PathLike[str]) -> None:
        csvio.write_csv(path, *self.as_lists())

    @classmethod
    def from_csv(cls, path: str | PathLike[str], n_devices: int | None = None) -> Readings:
        ids, stamps, values = csvio.read_csv(path)
        device_id = np.array(ids, dtype=ID_DTYPE)
        if n_devices is None:
            n_devices = int(device_id.max()) + 1 if len(device_id) else 1
        return cls(
            device_id,
            np.array(stamps, dtype=TIMESTAMP_DTYPE),
            np.array(values, dtype=KWH_DTYPE),
            n_devices,
        )


def generate(
    n_readings: int = DEFAULT_READINGS,
    n_devices: int = DEFAULT_DEVICES,
    *,
    seed: int = DEFAULT_SEED,
    duplicate_share: float = 0.01,
    missing_share: float = 0.005,
) -> Readings:
    """``n_readings`` readings from ``n_devices`` devices.

    About ``duplicate_share`` of the rows repeat an earlier (device, timestamp)
    -- retransmissions, up to ten minutes after the original -- and about
    ``missing_share`` of the kwh values are NaN.
    """
    if n_readings < 0 or n_devices < 1:
        raise ValueError("need n_readings >= 0 and n_devices >= 1")
    if not (0 <= duplicate_share < 1 and 0 <= missing_share <= 1):
        raise ValueError("shares must lie in [0, 1)")
    rng = np.random.default_rng(seed)
    n_repeats = min(round(n_readings * duplicate_share), n_readings // 2)
    n_unique = n_readings - n_repeats

    # Device d reports at START + phase[d] + k * INTERVAL; rows in time order.
    phase = rng.integers(0, INTERVAL, n_devices)
    rounds = -(-n_unique // n_devices)
    slot = np.arange(rounds * n_devices)
    device = slot % n_devices
    stamp = START + (slot // n_devices) * INTERVAL + phase[device]
    order = np.argsort(stamp, kind="stable")[:n_unique]
    device, stamp = device[order], stamp[order]

    # Base load per device (median ~200 W, i.e. 0.05 kWh per interval) shaped
    # by a daily cycle peaking in the evening, plus noise; metered in Wh.
    base = rng.lognormal(np.log(0.05), 0.8, n_devices)
    hour = (stamp % DAY) / 3600.0
    cycle = 1.0 + 0.6 * np.sin(2 * np.pi * (hour - 12.0) / 24.0)
    kwh = np.round(base[device] * cycle * rng.gamma(4.0, 0.25, n_unique), 3)

    # Retransmissions: copies of random readings, slotted into the stream at
    # their arrival time (original time plus a delay); a stable sort keeps
    # every original ahead of its copies.
    source = rng.integers(0, n_unique, n_repeats)
    arrival = np.concatenate([stamp, stamp[source] + rng.integers(1, 600, n_repeats)])
    merged = np.argsort(arrival, kind="stable")
    rows = np.concatenate([np.arange(n_unique), source])[merged]
    device, stamp, kwh = device[rows], stamp[rows], kwh[rows]

    kwh[rng.random(n_readings) < missing_share] = np.nan
    return Readings(
        device.astype(ID_DTYPE), stamp.astype(TIMESTAMP_DTYPE), kwh.astype(KWH_DTYPE), n_devices
    )


def sparse_ids(n_devices: int, *, seed: int = DEFAULT_SEED) -> npt.NDArray[np.uint32]:
    """``n_devices`` distinct device ids spread over [0, 2**32), as a real fleet's serial
    numbers are -- never 0..n-1 -- in a deterministic order."""
    rng = np.random.default_rng(seed + 1)
    ids = rng.choice(1 << 32, size=n_devices, replace=False)
    return ids.astype(ID_DTYPE)


def with_sparse_ids(readings: Readings, *, seed: int = DEFAULT_SEED) -> Readings:
    """The same readings with device i renamed to the i-th of ``sparse_ids``."""
    names = sparse_ids(readings.n_devices, seed=seed)
    return replace(readings, device_id=names[readings.device_id])


def write_files(readings: Readings, folder: str | PathLike[str], files: int) -> list[Path]:
    """The readings as ``files`` CSV files in ``folder`` (``readings-000.csv``, ...): the
    stream cut into consecutive parts, as a meter gateway would rotate its log, so a
    retransmission can land in the file after its original. Floats are written in their
    shortest round-trip form (polars' writer, far faster than the csv module's), a missing
    reading as an empty field."""
    import polars as pl

    if files < 1:
        raise ValueError("need at least one file")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(readings), files + 1).astype(np.int64)
    written = []
    for k, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        part = slice(int(start), int(stop))
        frame = pl.DataFrame(
            {
                "device_id": readings.device_id[part],
                "timestamp": readings.timestamp[part],
                "kwh": readings.kwh[part],
            }
        ).with_columns(pl.col("kwh").fill_nan(None))
        path = out / f"readings-{k:03d}.csv"
        frame.write_csv(path, null_value="")
        written.append(path)
    return written
