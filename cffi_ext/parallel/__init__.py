"""cffi_ext's C kernels on every core: OpenMP, the thread count from HOTPATH_THREADS.

``src/hotpath_parallel.c`` splits aggregate by device, duplicates by hash partition (a
stable scatter) and hash_rows by rows, so every answer is the sequential kernel's, bit for
bit, at any thread count (README, "Every core: parallel variants"). xxh64 and factorize are
cffi_ext's sequential kernels. ``_raw`` adapts the module to the raw interface and
``hotpath.contract.bind`` adds the public contract.
"""

from hotpath.contract import bind

from . import _raw

BUILD_INFO = _raw.BUILD_INFO
aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_raw)

__all__ = ["BUILD_INFO", "aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
