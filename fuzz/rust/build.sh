#!/usr/bin/env bash
# Builds the Rust fuzz targets with plain cargo and libfuzzer-sys, as `cargo fuzz build` would:
# SanitizerCoverage for libFuzzer's feedback, AddressSanitizer, debug assertions and overflow
# checks. -Zsanitizer is a nightly flag: RUSTC_BOOTSTRAP=1 lets the stable toolchain take it
# (its rust-std ships the ASan runtime). HOTPATH_FUZZ_SANITIZER=none builds without ASan.
#   bash fuzz/rust/build.sh   -> build/fuzz/rust/<triple>/release/{kernels,csv}
set -euo pipefail
cd "$(dirname "$0")"
triple="$(rustc -vV | sed -n 's/^host: //p')"
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
if [ "${HOTPATH_FUZZ_SANITIZER:-address}" = address ]; then
  flags="$flags -Zsanitizer=address"
fi
# libFuzzer itself: clang's prebuilt copy where installed (libclang-rt-16-dev, which the C
# harness needs anyway) instead of libfuzzer-sys compiling its C++ sources (minutes on 2 cores).
prebuilt=/usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-x86_64.a
if [ -z "${CUSTOM_LIBFUZZER_PATH:-}" ] && [ -f "$prebuilt" ] && [ "$(uname -m)" = x86_64 ]; then
  export CUSTOM_LIBFUZZER_PATH="$prebuilt"
fi
# --target keeps RUSTFLAGS off build scripts (libfuzzer-sys's compiles libFuzzer with cc).
RUSTC_BOOTSTRAP=1 RUSTFLAGS="$(echo $flags)" CARGO_TARGET_DIR=../../build/fuzz/rust \
  cargo build --release --locked --target "$triple" --bins
echo "built ../../build/fuzz/rust/$triple/release/{kernels,csv}"
