"""duplicates on crafted keys against random keys, per backend: the ratio of their best times.

A quick check of issue 12's target (crafted keys cost at most 3x random keys at 10**6 rows)
without the whole benchmark: ``python bench/crafted_ratio.py [--rows 1e6] [--backends a,b]``.
The inputs are the benchmark's own (bench/implementations.py); each call is repeated and the
best of ``--repeat`` rounds kept, crafted and random alternating so that drift hits both alike.
On a loaded machine the ratios move by tenths: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).parent))

from implementations import crafted_readings, readings

from hotpath import backends

NATIVE = ("numba_impl", "cffi_ext", "cython_ext", "rust_ext", "wasm_ext")


def _best(call: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6)
    parser.add_argument("--backends", default=",".join(NATIVE))
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    rows = int(args.rows)
    inputs = {
        "random": readings(rows),
        "old hashes": crafted_readings("old hashes", rows),
        "known key": crafted_readings("known key", rows),
    }
    print(f"{rows:,} rows, best of {args.repeat} rounds, ms (ratio to random keys)")
    for name in args.backends.split(","):
        module = backends.load(name)
        calls = {
            k: (lambda m=module, r=r: m.duplicates(r.device_id, r.timestamp))
            for k, r in inputs.items()
        }
        for call in calls.values():
            call()  # warm-up: Numba compiles, allocators settle
        best = {k: float("inf") for k in calls}
        for _ in range(args.repeat):
            for k, call in calls.items():
                best[k] = min(best[k], _best(call, 1))
        random = best["random"]
        cells = [
            f"{k} {best[k] * 1e3:7.2f} ({best[k] / random:4.2f}x)" for k in calls if k != "random"
        ]
        print(f"{name:11} random {random * 1e3:7.2f}  " + "  ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
