"""The C99 kernels compiled to WebAssembly and run in-process by wasmtime.

``_kernels.wasm`` is built by clang/wasm-ld for wasm32-wasi from the very same
``cffi_ext/src/hotpath_kernels.c`` the cffi backend compiles natively (see
``wasm/CMakeLists.txt``). ``_raw`` copies each call's inputs into the module's
linear memory, calls the export once per batch and copies the outputs back;
``hotpath.contract.bind`` adds the public contract, so every input is checked
in Python before it crosses into Wasm. ``stage`` splits one call into copy-in
and the Wasm call, for the benchmark's ``wasm_ext (call only)`` row.
"""

from hotpath.contract import bind

from . import _raw

BUILD_INFO = _raw.BUILD_INFO
stage = _raw.stage
aggregate, duplicates, xxh64, hash_rows, factorize, stats = bind(_raw)

__all__ = [
    "BUILD_INFO",
    "aggregate",
    "duplicates",
    "factorize",
    "hash_rows",
    "stage",
    "stats",
    "xxh64",
]
