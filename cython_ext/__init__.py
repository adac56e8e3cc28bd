"""Cython 3 kernels of hotpath: typed memoryviews and `nogil` loops compiled to a C extension.

The raw functions live in the compiled `_kernels` module; `hotpath.contract.bind` wraps them with
the shared validation and conversion layer into the public API.
"""

from hotpath.contract import bind

from . import _kernels

BUILD_INFO = _kernels.BUILD_INFO

aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_kernels)

__all__ = ["BUILD_INFO", "aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
