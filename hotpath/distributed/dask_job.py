"""The job on Dask: a ``distributed`` cluster (a ``LocalCluster`` of 2 worker processes, or a
scheduler's address), the same report as ``hotpath pipeline``.

Two variants, side by side:

``dask`` (``dask:native``) -- exact by design. Each file is read on a worker by a hotpath
reader (bad records named by file and line, ``--on-bad-row skip`` honoured) into a frame with
an explicit input-order column: ``order = file index * 2**40 + row in file``. The frame is
shuffled by device, so all of a device's rows land in one partition; ``map_partitions`` then
sorts each partition by (device, order) -- every device's rows in input order -- and runs the
backend's kernels on it: ``duplicates`` (the first occurrence is the first by order, and a
duplicate's twin has the same device, so is in the same partition), ``aggregate`` (each
device summed in input order: python_ref's bits) and ``hash_rows``. Each partition returns
one row per device; devices never span partitions, so merging is concatenation, and the only
sums across partitions are exact ones (integer counts, the fingerprint mod 2**64).

``dask:builtins`` -- what a Dask user writes: ``dd.read_csv`` -> ``drop_duplicates(keep=
"first")`` -> ``groupby().agg(count, sum, min, max)``. Counts, duplicates, minima, maxima and
the fingerprint are exact (``drop_duplicates`` with one output partition keeps the first row
in partition order, which is file order); the totals are not bit-exact and cannot be made so
with the built-ins: pandas' grouped sum is compensated and Dask adds the partitions'
partial sums in its own tree. They agree within ``report.TOTAL_RTOL`` (the parity test says
so) where the sum is well conditioned, as meters' non-negative readings are. Its
fingerprint, like every peer's, hands the kept rows to the fastest backend's ``hash_rows``
(inside ``map_partitions``: no built-in computes XXH64).

Where it runs: with no address, a ``distributed.Client`` already made in this process (the
benchmark's, a notebook's) if there is one, else ``dask``'s ``scheduler-address`` setting
(``DASK_SCHEDULER_ADDRESS``), else a fresh ``LocalCluster`` started for the run and closed
after it (its start-up timed apart, as ``startup``). ``dask:tcp://HOST:8786`` or
``dask:builtins,tcp://HOST:8786`` name a scheduler; its workers need hotpath installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import operator
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hotpath import backends
from hotpath.pipeline.analytics import FINGERPRINT_CHUNK, Stopwatch, best_backend
from hotpath.pipeline.engines import Options
from hotpath.pipeline.errors import BadInput, PipelineError, Reject
from hotpath.pipeline.grammar import COLUMNS
from hotpath.pipeline.report import FINGERPRINT_SEED, Devices, Report, files_rejected

WORKERS = 2  # the LocalCluster's worker processes, one thread each
ORDER_SHIFT = 40  # order = file index << 40 | row: files of up to 2**40 rows, 2**23 files
VARIANTS = ("native", "builtins")
_PARTIAL = {
    "device_id": np.int64,
    "count": np.int64,
    "total": np.float64,
    "minimum": np.float64,
    "maximum": np.float64,
    "dropped": np.int64,
    "fingerprint": np.uint64,  # the device's kept rows' hashes, summed mod 2**64
}
_ROWS = {"order": np.int64, "device_id": np.uint32, "timestamp": np.int64, "kwh": np.float64}


def _frame(columns: dict[str, Any], dtypes: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DataFrame({k: np.asarray(columns[k], t) for k, t in dtypes.items()})


def _empty(dtypes: dict[str, Any]) -> Any:
    return _frame({k: [] for k in dtypes}, dtypes)


# -- on the workers ---------------------------------------------------------------------------


def read_file(index: int, path: str, reader: str) -> tuple[Any, int, list[Reject], Reject | None]:
    """One file by a hotpath reader: (its rows with their order, rows read, rejects, the
    file's own fault)."""
    from hotpath.pipeline.columnar import _reader_for

    found = _reader_for([Path(path)], reader)
    why = found.available()
    if why:
        raise backends.BackendUnavailable(f"reader {found.name} is unavailable: {why}")
    parsed = found.read(Path(path))
    order = (index << ORDER_SHIFT) + np.arange(parsed.rows, dtype=np.int64)
    columns = {
        "order": order,
        "device_id": parsed.device_id,
        "timestamp": parsed.timestamp,
        "kwh": parsed.kwh,
    }
    return _frame(columns, _ROWS), parsed.rows_read, parsed.rejects, parsed.file_error


def device_partials(part: Any, backend_name: str) -> Any:
    """One partition holding every row of its devices: per device its count, total, min,
    max, duplicates dropped and fingerprint, by the backend's kernels in input order."""
    if len(part) == 0:
        return _empty(_PARTIAL)
    backend = backends.load(backend_name)
    ids = part["device_id"].to_numpy(np.uint32)
    # each device's rows together, in input order (the order column is unique)
    by = np.lexsort((part["order"].to_numpy(), ids))
    ids = ids[by]
    stamps = part["timestamp"].to_numpy(np.int64)[by]
    kwh = part["kwh"].to_numpy(np.float64)[by]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lengths = np.diff(np.r_[starts, len(ids)])
    codes = np.repeat(np.arange(len(starts), dtype=np.uint32), lengths)
    columns: tuple[Any, ...] = (ids, stamps, kwh)
    if backend.__name__ == backends.REFERENCE:  # python_ref works on lists
        columns = tuple(c.tolist() for c in columns)
    dup = np.asarray(backend.duplicates(columns[0], columns[1]), bool)
    codes[dup] = len(starts)  # dropped rows: one extra device, discarded
    if backend.__name__ == backends.REFERENCE:
        count, total, low, high = backend.aggregate(codes.tolist(), columns[2], len(starts) + 1)
    else:
        count, total, low, high = backend.aggregate(codes, kwh, len(starts) + 1)
    hashes = np.empty(len(ids), np.uint64)
    for start in range(0, len(ids), FINGERPRINT_CHUNK):
        part_ = slice(start, start + FINGERPRINT_CHUNK)
        chunk = tuple(c[part_] for c in columns)
        hashes[part_] = np.asarray(backend.hash_rows(*chunk, FINGERPRINT_SEED), np.uint64)
    hashes[dup] = 0
    found = {
        "device_id": ids[starts].astype(np.int64),
        "count": np.asarray(count)[:-1],
        "total": np.asarray(total)[:-1],
        "minimum": np.asarray(low)[:-1],
        "maximum": np.asarray(high)[:-1],
        "dropped": np.add.reduceat(dup.astype(np.int64), starts),
        "fingerprint": np.add.reduceat(hashes, starts),  # uint64 adds wrap: mod 2**64
    }
    return _frame(found, _PARTIAL)


def kept_fingerprint(part: Any) -> Any:
    """The built-ins variant's fingerprint of one partition of kept rows: a one-row frame."""
    import pandas as pd

    from hotpath.engines import fingerprint

    value = fingerprint(part["device_id"], part["timestamp"], part["kwh"]) if len(part) else 0
    return pd.DataFrame({"fingerprint": np.array([value], np.uint64)})


# -- on the client ----------------------------------------------------------------------------


@contextlib.contextmanager
def session(address: str, clock: Stopwatch) -> Iterator[Any]:
    """A ``distributed.Client``: to ``address``, else the one this process already has,
    else to the configured scheduler, else to a LocalCluster started (and stopped) here."""
    import dask
    from distributed import Client, LocalCluster, default_client

    if not address:
        with contextlib.suppress(ValueError):
            yield default_client()
            return
        address = dask.config.get("scheduler-address", None) or ""
    if address:
        client = clock.time("startup", lambda: Client(address))  # connecting, and its imports
        try:
            yield client
        finally:
            clock.time("shutdown", client.close)
        return

    # the scheduler runs in this process: its P2P shuffle logs every shuffle as a warning
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)

    def start() -> Any:
        # processes, not threads: the kernels release the GIL, but read_csv and pandas do
        # not all of the time; and it is what a cluster is. No dashboard: nothing to serve.
        cluster = LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        )
        return cluster, Client(cluster)

    cluster, client = clock.time("startup", start)
    try:
        yield client
    finally:

        def stop() -> None:
            client.close()
            cluster.close()

        clock.time("shutdown", stop)


class DaskJob:
    name = "dask"

    def __init__(self, variant: str = "native", address: str = "") -> None:
        if variant not in VARIANTS:
            raise KeyError(f"dask variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
        self.variant = variant
        self.address = address
        self.exact = variant == "native"
        self.uses: tuple[str, ...] = ("reader", "backend", "on_bad_row") if self.exact else ()
        self.description = (
            "dask: per-file hotpath reader -> shuffle by device -> map_partitions(kernels)"
            if self.exact
            else "dask: read_csv -> drop_duplicates() -> groupby().agg()"
        )

    def configured(self, parameter: str) -> DaskJob:
        """``builtins``, ``native``, a scheduler's address, or ``VARIANT,ADDRESS``."""
        variant, _, address = parameter.partition(",")
        if "://" in variant:
            variant, address = "native", parameter
        return DaskJob(variant or "native", address)

    def available(self) -> str:
        for module in ("dask.dataframe", "distributed"):
            try:
                if importlib.util.find_spec(module) is None:
                    raise ImportError(module)
            except ImportError:
                return f'{module} is not installed (pip install -e ".[dask]")'
        return ""

    def run(self, files: Sequence[Path], options: Options) -> Report:
        clock = Stopwatch()
        with session(self.address, clock) as client:
            if self.variant == "native":
                report = self._native(client, files, options, clock)
            else:
                report = self._builtins(files, clock)
            report.engine = {
                "name": self.name if self.exact else f"{self.name}:{self.variant}",
                "variant": self.variant,
                "scheduler": client.scheduler.address,
                "workers": len(client.scheduler_info()["workers"]),
            }
        if self.exact:
            report.engine["backend"] = options.backend or best_backend()
        report.timings = clock.timings
        return report

    def _native(
        self, client: Any, files: Sequence[Path], options: Options, clock: Stopwatch
    ) -> Report:
        import dask.dataframe as dd

        from hotpath.pipeline.columnar import _reader_for

        backend_name = options.backend or best_backend()
        backends.load(backend_name)  # unavailable: say so here, not on a worker
        reader = _reader_for(files, options.reader)  # one format per run, as the pipeline
        why = reader.available()
        if why:
            raise backends.BackendUnavailable(f"reader {reader.name} is unavailable: {why}")
        names = [str(f) for f in files]

        def load() -> tuple[list[Any], list[tuple[int, list[Reject], Reject | None]]]:
            read = client.map(
                read_file, range(len(names)), names, reader=options.reader, pure=False
            )
            frames = [client.submit(operator.itemgetter(0), r) for r in read]
            meta = client.gather([client.submit(operator.itemgetter(slice(1, 4)), r) for r in read])
            del read  # the frames stay on the workers, held by `frames`
            return frames, meta

        frames, meta = clock.time("load", load)
        rejects: list[Reject] = []
        broken: list[Reject] = []
        for _, file_rejects, file_error in meta:  # in input order, as the pipeline stops
            if options.on_bad_row == "error":
                first = file_error or (file_rejects[0] if file_rejects else None)
                if first is not None:
                    raise BadInput(first)
            rejects += file_rejects
            if file_error is not None:
                broken.append(file_error)

        def analyse() -> Any:
            rows = dd.from_delayed(frames, meta=_empty(_ROWS), verify_meta=False)
            shuffled = rows.shuffle("device_id", npartitions=max(WORKERS, rows.npartitions))
            return shuffled.map_partitions(
                device_partials, backend_name, meta=_empty(_PARTIAL)
            ).compute()

        # dedup, aggregate and fingerprint are one pass over each partition: one stage
        partials = clock.time("aggregate", analyse).sort_values("device_id", kind="stable")
        devices = Devices(*(partials[c].to_numpy() for c in list(_PARTIAL)[:5]))
        return Report(
            files=names,
            rows_read=sum(m[0] for m in meta),
            rows_rejected=len(rejects),
            duplicates_dropped=int(partials["dropped"].sum()),
            devices=devices,
            fingerprint=sum(int(v) for v in partials["fingerprint"]) % 2**64,
            files_rejected=files_rejected(broken),
            rejects=rejects,
        )

    def _builtins(self, files: Sequence[Path], clock: Stopwatch) -> Report:
        import dask
        import dask.dataframe as dd

        from hotpath.engines import devices_from, diagnose
        from hotpath.pipeline.readers.guarded import NAN_SPELLINGS, pandas_float_options

        if any(f.suffix != ".csv" for f in files):
            raise PipelineError(f"engine {self.name}:builtins reads .csv files only")
        names = [str(f) for f in files]

        def job() -> tuple[int, int, Any, Any]:
            frame = dd.read_csv(
                names,
                blocksize=None,  # one partition per file, in file order
                usecols=list(COLUMNS),
                dtype={"device_id": "uint32", "timestamp": "int64", "kwh": "float64"},
                keep_default_na=False,
                na_values=["", *NAN_SPELLINGS],
                **pandas_float_options(),  # correctly rounded, as float() is
            )
            # one output partition: the first in partition order is the first in file order
            kept = frame.drop_duplicates(
                subset=["device_id", "timestamp"], keep="first", split_out=1
            )
            stats = kept.groupby("device_id")["kwh"].agg(["count", "sum", "min", "max"])
            prints = kept.map_partitions(kept_fingerprint, meta={"fingerprint": np.uint64})
            rows, kept_rows, table, hashed = dask.compute(
                frame.shape[0], kept.shape[0], stats, prints
            )
            return rows, rows - kept_rows, table.sort_index(), hashed

        try:
            # dask runs the steps as one graph: they are timed as one stage
            rows, dropped, table, hashed = clock.time("aggregate", job)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # read_csv said no: where, in our words
            raise diagnose(files, f"{self.name}:builtins", error) from error
        devices = devices_from(
            table.index.to_numpy(), *(table[c].to_numpy() for c in ("count", "sum", "min", "max"))
        )
        return Report(
            files=names,
            rows_read=int(rows),
            rows_rejected=0,
            duplicates_dropped=int(dropped),
            devices=devices,
            fingerprint=sum(int(v) for v in hashed["fingerprint"]) % 2**64,
        )


ENGINE = DaskJob()
