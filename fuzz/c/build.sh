#!/usr/bin/env bash
# Builds the libFuzzer harness of the raw C kernels with ASan + UBSan (every UB report fatal):
#   bash fuzz/c/build.sh [OUT]      -> OUT (default build/fuzz/fuzz_kernels)
# Needs clang-16 and its compiler-rt (libclang-rt-16-dev: libFuzzer and the sanitizer runtimes).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-build/fuzz/fuzz_kernels}"
mkdir -p "$(dirname "$out")"
clang-16 -std=c99 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Icffi_ext/src fuzz/c/fuzz_kernels.c cffi_ext/src/hotpath_kernels.c -lm -o "$out"
echo "built $out"
