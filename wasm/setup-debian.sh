#!/usr/bin/env bash
# The WebAssembly toolchain from Debian (bookworm) packages, for the wasm_ext backend:
#   clang-16, lld-16            clang compiles C to wasm32, wasm-ld links the module
#   wasi-libc                   the C library (malloc/free, memcpy/memset, math.h) for wasm32-wasi
#   libclang-rt-16-dev-wasm32   compiler-rt builtins for wasm32 (clang-16 finds them by itself)
#   llvm-16                     llvm-ar/-ranlib/-nm/-strip for the py2wasm runs' wasi-sdk lookalike
#                               (wasm/py2wasm/build.sh)
#   patch                       wasm/py2wasm/build.sh patches py2wasm (its signature fix)
# Not binaryen: with wasm-opt on PATH, Debian's clang runs it on every wasm link.
# Run as root (or with sudo); then `pip install -e .` builds the backend.
set -euo pipefail
packages=(clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32 llvm-16 patch)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # wait for another apt/dpkg run to finish instead of failing on its lock
  $sudo apt-get -o DPkg::Lock::Timeout=600 update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
    --no-install-recommends "${missing[@]}"
fi
echo "wasm toolchain: $(clang-16 --version | head -n1); wasi-libc in /usr/lib/wasm32-wasi"
