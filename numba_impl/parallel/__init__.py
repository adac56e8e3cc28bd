"""numba_impl's parallel variant: ``@njit(parallel=True)`` loops over ``prange``, the
sequential backend's bits.

``aggregate``, ``duplicates`` and ``hash_rows`` run ``hotpath.threads.count()`` threads, capped
at ``NUMBA_NUM_THREADS`` (fixed when Numba starts: by default the machine's cores; launch with
``NUMBA_NUM_THREADS=N`` for more); ``factorize`` and ``xxh64`` are numba_impl's sequential
kernels. The design is in ``_kernels``.
"""

from hotpath.contract import bind

from . import _kernels

BUILD_INFO = _kernels.BUILD_INFO
aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_kernels)
__all__ = ["BUILD_INFO", "aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
