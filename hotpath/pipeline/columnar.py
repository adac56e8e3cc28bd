"""The columnar engine: the optimized program, and every rung of the ladder between.

Columns instead of objects; a reader of your choice (``--reader``), the kernels of any
registered backend (``--backend``), files read in parallel (``--workers``) and parsed files
cached by content (``--cache``). With the native reader, a compiled backend, all cores and the
cache, it is ``hotpath pipeline``'s default.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hotpath import backends
from hotpath.pipeline import readers
from hotpath.pipeline.analytics import Stopwatch, analyse, best_backend
from hotpath.pipeline.cache import Cache
from hotpath.pipeline.engines import Options
from hotpath.pipeline.errors import PipelineError
from hotpath.pipeline.loading import load
from hotpath.pipeline.readers.base import Reader
from hotpath.pipeline.report import Report, files_rejected


class Columnar:
    name = "columnar"
    description = "columns through a reader and a backend's kernels"
    uses = ("reader", "backend", "workers", "cache", "on_bad_row")
    exact = True

    def available(self) -> str:
        return ""

    def run(self, files: Sequence[Path], options: Options) -> Report:
        backend_name = options.backend or best_backend()
        backend = backends.load(backend_name)
        clock = Stopwatch()
        reader = _reader_for(files, options.reader)
        why = reader.available()
        if why:
            raise backends.BackendUnavailable(f"reader {reader.name} is unavailable: {why}")
        cache = Cache(options.cache) if options.cache is not None else None
        engine = {
            "name": self.name,
            "reader": reader.name,
            "backend": backend_name,
            "workers": options.workers,
        }
        key = ""
        if cache is not None and options.cache_results:
            key = clock.time("load", lambda: cache.results_key(list(files), options.on_bad_row))
            stored = cache.load_results(key)
            if stored is not None:  # every file unchanged: the whole result is known
                report = Report.from_stored(stored)
                report.engine, report.timings = engine, clock.timings
                report.cache = {
                    "hits": len(files),
                    "misses": 0,
                    "result": "hit",
                    "hash_seconds": cache.hash_seconds,
                }
                return report
        loaded = clock.time(
            "load",
            lambda: load(
                files,
                reader,
                workers=options.workers,
                cache=cache,
                on_bad_row=options.on_bad_row,
                progress=options.progress,
            ),
        )
        dropped, devices, fingerprint = analyse(
            loaded.device_id, loaded.timestamp, loaded.kwh, backend, clock
        )
        report = Report(
            files=loaded.files,
            rows_read=loaded.rows_read,
            rows_rejected=len(loaded.rejects),
            duplicates_dropped=dropped,
            devices=devices,
            fingerprint=fingerprint,
            files_rejected=files_rejected(loaded.files_rejected),
            engine=engine,
            timings=clock.timings,
            rejects=loaded.rejects,
        )
        if cache is not None:
            report.cache = {
                "hits": loaded.cache_hits,
                "misses": loaded.cache_misses,
                "hash_seconds": cache.hash_seconds,
            }
            if key:
                cache.store_results(key, report.stored())
                report.cache["result"] = "miss"
        return report


def _reader_for(files: Sequence[Path], asked: str) -> Reader:
    """The asked reader for CSV files; the format's own reader for binary ones."""
    suffixes = {f.suffix for f in files}
    binary = suffixes & set(readers.BINARY)
    if not binary:
        return readers.get(asked)
    if len(suffixes) > 1:
        raise PipelineError(f"one format per run: found {', '.join(sorted(suffixes))}")
    return readers.for_suffix(binary.pop())


ENGINE = Columnar()
