"""Numba: the same loops as python_ref's, compiled to machine code by LLVM.

The kernels in ``_kernels`` are plain Python functions decorated with
``@njit``; the shared boundary (``hotpath.contract``) hands them canonical
arrays, so each compiles to one specialization per kernel.
"""

from hotpath.contract import bind

from . import _kernels

BUILD_INFO = _kernels.BUILD_INFO
aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_kernels)
__all__ = ["aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
