"""C99 kernels called through cffi (API mode).

The four kernels are plain portable C99 (``src/hotpath_kernels.c``, also
compiled to WebAssembly); ``build_ffi.py`` emits a cffi wrapper that CMake
compiles with them into ``cffi_ext._kernels``. ``_raw`` adapts that module to
the raw interface and ``hotpath.contract.bind`` adds the public contract.
"""

from hotpath.contract import bind

from . import _raw

BUILD_INFO = _raw.BUILD_INFO
aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_raw)

__all__ = ["BUILD_INFO", "aggregate", "duplicates", "factorize", "hash_rows", "stats", "xxh64"]
