"""cython_ext's kernels on every core: Cython `prange` over OpenMP, the thread count from
HOTPATH_THREADS.

``_kernels.pyx`` splits aggregate by device, duplicates by hash partition (a stable scatter)
and hash_rows by rows, so every answer is the sequential kernel's, bit for bit, at any thread
count (README, "Every core: parallel variants"); xxh64 and factorize are cython_ext's
sequential kernels. ``hotpath.contract.bind`` adds the public contract.
"""

from hotpath.contract import bind

try:
    from . import _kernels
except ImportError as error:  # CMake found no OpenMP: the build left this module out
    raise ImportError(
        "cython_ext.parallel is not built: CMake's find_package(OpenMP) found no OpenMP for C "
        f"when hotpath was installed (re-install with an OpenMP runtime, e.g. gcc's libgomp) "
        f"[{error}]"
    ) from None

BUILD_INFO = _kernels.BUILD_INFO

aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_kernels)

__all__ = ["BUILD_INFO", "aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
