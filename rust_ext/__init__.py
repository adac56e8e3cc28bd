"""Rust kernels through PyO3 (rust-numpy arrays, GIL released around the loops).

`_kernels` is the raw interface built from this folder's Cargo crate; `hotpath.contract.bind`
wraps it with the shared validation and conversions.
"""

from hotpath.contract import bind

from . import _kernels

BUILD_INFO = _kernels.BUILD_INFO

aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_kernels)

__all__ = ["BUILD_INFO", "aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
