"""Readers: one file of readings in, its three columns out, bad records rejected.

Every reader applies the rules of :mod:`hotpath.pipeline.grammar` and returns a
:class:`~hotpath.pipeline.readers.base.Parsed`; which one to use is a speed choice, never a
correctness one (the test suite runs every reader on the same files). Adding a reader: a
module here with a ``READER`` object (see ``base.Reader``) and one line in ``READERS``.
"""

from __future__ import annotations

import importlib
from functools import cache

from hotpath.pipeline.readers.base import Reader

# name -> module (imported on first use: pandas, pyarrow and polars are heavy imports)
READERS = {
    "stdlib": "hotpath.pipeline.readers.stdlib_csv",
    "native": "hotpath.pipeline.readers.native_csv",
    "pandas": "hotpath.pipeline.readers.pandas_csv",
    "pandas-pyarrow": "hotpath.pipeline.readers.pandas_csv",
    "pyarrow": "hotpath.pipeline.readers.pyarrow_csv",
    "polars": "hotpath.pipeline.readers.polars_csv",
}
# Binary formats: chosen by the file's suffix, whatever --reader says (see convert.py).
BINARY = {
    ".parquet": "hotpath.pipeline.readers.binary",
    ".arrow": "hotpath.pipeline.readers.binary",
    ".npz": "hotpath.pipeline.readers.binary",
}


@cache
def get(name: str) -> Reader:
    """The reader named ``name`` (KeyError naming the choices)."""
    if name not in READERS:
        raise KeyError(f"no reader named {name!r}; choose from {', '.join(READERS)}")
    module = importlib.import_module(READERS[name])
    return module.reader(name)


@cache
def for_suffix(suffix: str) -> Reader:
    module = importlib.import_module(BINARY[suffix])
    return module.reader(suffix)
