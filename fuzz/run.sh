#!/usr/bin/env bash
# Runs every fuzzer for SECONDS (default 60) each, starting from its committed corpus, and fails
# on the first finding (a crash, a sanitizer report, a wrong answer, a timeout):
#   bash fuzz/run.sh [SECONDS] [FUZZER...]    FUZZER: differential c_kernels rust_kernels rust_csv
# Builds what it runs (fuzz/c/build.sh, fuzz/rust/build.sh; the differential fuzzer needs
# atheris, the [fuzz] extra, in the active environment). New inputs go to a scratch folder, so
# the committed corpus stays as it is; a finding is kept under build/fuzz/findings/ and
# replays with `FUZZER_BINARY FILE` (or `python fuzz/differential.py FILE`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(differential c_kernels rust_kernels rust_csv)
scratch="$(mktemp -d -t hotpath-fuzz-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
findings="$PWD/build/fuzz/findings"
mkdir -p "$findings"
rust="build/fuzz/rust/$(rustc -vV | sed -n 's/^host: //p')/release"

for fuzzer in "${fuzzers[@]}"; do
  case "$fuzzer" in
    differential) command=(python fuzz/differential.py -timeout=120) ;;
    c_kernels)
      bash fuzz/c/build.sh build/fuzz/fuzz_kernels
      command=(build/fuzz/fuzz_kernels -timeout=30) ;;
    rust_kernels | rust_csv)
      [ -n "${built_rust:-}" ] || bash fuzz/rust/build.sh  # once per run; cargo is incremental
      built_rust=1
      # Leak checking needs ptrace, which containers often block (LSan then may hang); Rust's
      # ownership makes leaks a non-issue for these safe kernels.
      command=("$rust/${fuzzer#rust_}" -timeout=30 -detect_leaks=0) ;;
    *) echo "fuzz/run.sh: no fuzzer named $fuzzer" >&2; exit 2 ;;
  esac
  mkdir -p "$scratch/$fuzzer"
  echo "== $fuzzer: ${seconds} s from fuzz/corpus/$fuzzer"
  if ! "${command[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$findings/$fuzzer-" "$scratch/$fuzzer" "fuzz/corpus/$fuzzer" \
      > "$scratch/$fuzzer.log" 2>&1; then
    grep -v '^"' "$scratch/$fuzzer.log" | tail -n 60 >&2
    echo "fuzz/run.sh: $fuzzer found something: see $findings" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$scratch/$fuzzer.log"
done
