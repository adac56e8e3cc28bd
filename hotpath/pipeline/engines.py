"""The pipeline's engines: how the work is done, from the naive "before" to the peers.

Every engine reads the same files and returns the same :class:`Report` (its ``results()``
identical across engines: the parity tests prove it). Adding an engine: a module with an
``ENGINE`` object (see :class:`Engine`) and one line in ``ENGINES``. The in-process ladder
lives in ``hotpath.pipeline``; other systems doing the same job (polars, DuckDB, pandas, the
databases) in ``hotpath.engines``, the distributed ones (Spark, Dask) in ``hotpath.distributed``.

An engine that needs a place to work takes it in its name: ``sqlite:PATH``, or a URL whose
scheme names the engine (``postgres://user@host/db``). :func:`get` hands the part after the
name (a URL whole) to the engine's ``configured``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from hotpath.pipeline.report import Report

# name -> module holding ENGINE; imported when first used
ENGINES = {
    "naive": "hotpath.pipeline.naive",
    "objects": "hotpath.pipeline.objects",
    "columnar": "hotpath.pipeline.columnar",
    "polars": "hotpath.engines.polars_job",
    "duckdb": "hotpath.engines.duckdb_job",
    "pandas": "hotpath.engines.pandas_job",
    "sqlite": "hotpath.engines.sqlite_db",
    "postgres": "hotpath.engines.postgres_db",
    "dask": "hotpath.distributed.dask_job",
}
DEFAULT = "columnar"
# URL schemes that name an engine under another name
SCHEMES = {"postgresql": "postgres"}


@dataclass(frozen=True)
class Options:
    """How to run. Each engine uses the options that apply to it (``Engine.uses``)."""

    reader: str = "native"
    backend: str = ""  # "" = the fastest available (hotpath.pipeline.columnar.best_backend)
    workers: int = 1
    cache: Path | None = None  # a cache folder, or None: no cache
    cache_results: bool = True  # with a cache: also keep whole results, keyed by every file
    on_bad_row: str = "error"  # or "skip"
    progress: Callable[[Path], None] | None = None


class Engine(Protocol):
    name: str
    description: str
    uses: tuple[str, ...]  # which Options fields it honours
    # bit-exact with python_ref's order of summation; else totals agree within report.TOTAL_RTOL
    exact: bool

    def available(self) -> str:
        """ "" when it can run here, else why not."""

    def run(self, files: Sequence[Path], options: Options) -> Report: ...

    # Optional, for an engine that takes a parameter (see get):
    # def configured(self, parameter: str) -> Engine: ...


def split(name: str) -> tuple[str, str]:
    """(engine, parameter): ``sqlite:PATH`` -> ("sqlite", PATH); a URL -> (its scheme's
    engine, the URL); a plain name -> (name, ""). A parameter may itself hold a URL
    (``dask:tcp://host:8786``): a scheme with a colon in it is a name and its parameter."""
    scheme, found, _ = name.partition("://")
    if found and ":" not in scheme:
        return SCHEMES.get(scheme, scheme), name
    engine, _, parameter = name.partition(":")
    return SCHEMES.get(engine, engine), parameter


@cache
def get(name: str) -> Engine:
    """The engine ``name`` names, configured with its parameter if it has one (KeyError
    naming the choices, or saying the engine takes none)."""
    base, parameter = split(name)
    if base not in ENGINES:
        raise KeyError(f"no engine named {base!r}; choose from {', '.join(ENGINES)}")
    engine = importlib.import_module(ENGINES[base]).ENGINE
    if not parameter:
        return engine
    configured = getattr(engine, "configured", None)
    if configured is None:
        raise KeyError(f"engine {base} takes no parameter (got {name!r})")
    return configured(parameter)
