"""cffi builder for ``cffi_ext._kernels`` (API / out-of-line mode).

CMake runs ``python build_ffi.py OUT.c`` at build time: this only EMITS the
wrapper C source (``ffibuilder.emit_c_code``); CMake compiles it together with
``src/hotpath_kernels.c``, so no setuptools/distutils step is involved.

The cdef is read from the header, between the ``cffi-cdef-begin/end`` markers,
so the C API is declared in exactly one place.
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


ffibuilder = cffi.FFI()
ffibuilder.cdef(_cdef_from_header(HEADER))
# Wrapper-only helper: the cffi version is captured when the wrapper is
# generated, i.e. at build time (the C compiler name comes from hp_build_info).
ffibuilder.cdef("const char *hp_cffi_version(void);")
if not re.fullmatch(r"[0-9A-Za-z.+-]+", cffi.__version__):
    raise RuntimeError(f"unexpected cffi version string {cffi.__version__!r}")
ffibuilder.set_source(
    "cffi_ext._kernels",
    '#include "hotpath_kernels.h"\n'
    f'static const char *hp_cffi_version(void) {{ return "{cffi.__version__}"; }}\n',
)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_ffi.py OUTPUT.c")
    out = pathlib.Path(sys.argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    ffibuilder.emit_c_code(str(out))
    # cffi leaves an unchanged file untouched; refresh its mtime so the build
    # tool sees the output as newer than its inputs and stops re-running us.
    out.touch()
