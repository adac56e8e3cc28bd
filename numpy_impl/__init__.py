"""Vectorized NumPy: what a Python engineer would write without a compiler.

Each kernel is whole-array operations -- no Python loop over rows -- so this is
the honest baseline the compiled backends must beat. Where NumPy cannot express
a kernel without a Python loop (XXH64's stripes depend on each other), the loop
is there and the benchmark shows its cost.
"""

from hotpath.contract import bind

from . import _kernels

BUILD_INFO = _kernels.BUILD_INFO
aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_kernels)
__all__ = ["aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
