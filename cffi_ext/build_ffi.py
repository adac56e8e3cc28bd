"""cffi builder for ``cffi_ext._kernels`` (API / out-of-line mode).

CMake runs ``python build_ffi.py OUT.c`` at build time (``python build_ffi.py --parallel
OUT.c`` for ``cffi_ext.parallel._kernels``, the OpenMP kernels): this only EMITS the
wrapper C source (``ffibuilder.emit_c_code``); CMake compiles it together with
``src/hotpath_kernels.c``, so no setuptools/distutils step is involved.

The cdef is read from the header, between the ``cffi-cdef-begin/end`` markers,
so the C API is declared in exactly one place. The parallel module declares both headers'
blocks: it holds the sequential kernels too (xxh64, factorize, the keyed hash).
"""

import pathlib
import re
import sys

import cffi

HERE = pathlib.Path(__file__).resolve().parent
HEADER = HERE / "src" / "hotpath_kernels.h"


def _cdef_from_header(path: pathlib.Path) -> str:
    text = path.read_text(encoding="utf-8")
    m = re.search(r"/\* cffi-cdef-begin \*/(.*?)/\* cffi-cdef-end \*/", text, re.S)
    if m is None:
        raise RuntimeError(f"cdef markers not found in {path}")
    # pycparser (inside cffi) does not take comments
    return re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)


PARALLEL_HEADER = HERE / "parallel" / "src" / "hotpath_parallel.h"


def builder(parallel: bool = False) -> cffi.FFI:
    ffibuilder = cffi.FFI()
    ffibuilder.cdef(_cdef_from_header(HEADER))
    if parallel:
        ffibuilder.cdef(_cdef_from_header(PARALLEL_HEADER))
    # Wrapper-only helper: the cffi version is captured when the wrapper is
    # generated, i.e. at build time (the C compiler name comes from hp_build_info).
    ffibuilder.cdef("const char *hp_cffi_version(void);")
    if not re.fullmatch(r"[0-9A-Za-z.+-]+", cffi.__version__):
        raise RuntimeError(f"unexpected cffi version string {cffi.__version__!r}")
    ffibuilder.set_source(
        "cffi_ext.parallel._kernels" if parallel else "cffi_ext._kernels",
        f'#include "{"hotpath_parallel.h" if parallel else "hotpath_kernels.h"}"\n'
        f'static const char *hp_cffi_version(void) {{ return "{cffi.__version__}"; }}\n',
    )
    return ffibuilder


if __name__ == "__main__":
    args = sys.argv[1:]
    parallel = args[:1] == ["--parallel"]
    if parallel:
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: build_ffi.py [--parallel] OUTPUT.c")
    out = pathlib.Path(args[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    builder(parallel).emit_c_code(str(out))
    # cffi leaves an unchanged file untouched; refresh its mtime so the build
    # tool sees the output as newer than its inputs and stops re-running us.
    out.touch()
