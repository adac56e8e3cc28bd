#!/usr/bin/env bash
# The fuzzers' toolchain from Debian (bookworm) packages:
#   clang-16             compiles the C harness (also wasm_ext's compiler: wasm/setup-debian.sh)
#   libclang-rt-16-dev   compiler-rt for the host: libFuzzer, ASan and UBSan runtimes (the C
#                        harness links them; the Rust targets link its prebuilt libFuzzer)
# Run as root (or with sudo). The Rust targets also need cargo; the differential fuzzer the
# [fuzz] extra (atheris).
set -euo pipefail
packages=(clang-16 libclang-rt-16-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
    --no-install-recommends "${missing[@]}"
fi
echo "fuzz toolchain: $(clang-16 --version | head -n1), $(ls /usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-"$(uname -m)".a)"
