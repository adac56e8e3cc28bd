"""rust_ext's parallel variant: rayon workers, the GIL released, the sequential backend's bits.

``aggregate``, ``duplicates`` and ``hash_rows`` run ``hotpath.threads.count()`` workers (one
rayon pool per thread count, built once); ``factorize`` and ``xxh64`` are rust_ext's sequential
kernels (README, "Every core: parallel variants", says why). The design is in
rust_ext/src/parallel.rs.
"""

from hotpath.contract import bind

from . import _raw

BUILD_INFO = _raw.BUILD_INFO

aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_raw)

__all__ = ["BUILD_INFO", "aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
