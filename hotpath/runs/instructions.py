"""Instructions per row: a cost figure that noise cannot move (``hotpath instructions``).

Hardware counters are not available on these VMs; valgrind's callgrind counts every
instruction instead. One child process per backend runs under callgrind: it prepares the
inputs, warms every kernel up (imports, Numba's compile or cache load, first-touch page faults
all happen here), then for each kernel runs two *regions* -- a loop of ``calls`` no-op calls,
and a loop of ``calls`` calls of the kernel -- each bracketed by ``os.getppid()``, which
callgrind is told to dump its counters before (``--dump-before=getppid``). A region's dump
holds exactly what ran inside it, so::

    instructions per call = (kernel region - no-op region) / calls

with start-up, imports and compilation left out by construction, and the Python loop's own
cost cancelled. Hash seeds are fixed (PYTHONHASHSEED, HOTPATH_HASH_SEED), so two runs count
the same to within a few instructions in millions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

KERNELS = ("aggregate", "duplicates", "hash_rows", "xxh64", "factorize")
# Large enough that a kernel's loop outweighs its per-call cost in Python (argument checks,
# Numba's dispatch, whose own state differs a little between a fresh compile and a cache load).
ROWS = 100_000
BUFFER = 1024 * 1024
CALLS = 5
# python_ref: each of its calls takes seconds under callgrind, so fewer and smaller
SLOW_CALLS = 2
SLOW_ROWS = 5_000
ENV = {"PYTHONHASHSEED": "0", "HOTPATH_HASH_SEED": "1"}


def available() -> str:
    return (
        "" if shutil.which("valgrind") else "valgrind is not installed (apt-get install valgrind)"
    )


# -- the child: runs under callgrind ----------------------------------------------------------


def _child(backend: str, rows: int, buffer_size: int, calls: int) -> None:
    import numpy as np

    from hotpath import backends, data

    module = backends.load(backend)
    readings = data.generate(rows, max(1, min(1000, rows // 10)))
    ids, stamps, kwh = readings.device_id, readings.timestamp, readings.kwh
    if backend == backends.REFERENCE:
        ids, stamps, kwh = readings.as_lists()
    buffer = np.random.default_rng(1).integers(0, 256, buffer_size, np.uint8).tobytes()
    work = {
        "aggregate": lambda: module.aggregate(ids, kwh, readings.n_devices),
        "duplicates": lambda: module.duplicates(ids, stamps),
        "hash_rows": lambda: module.hash_rows(ids, stamps, kwh),
        "xxh64": lambda: module.xxh64(buffer),
        "factorize": lambda: module.factorize(ids),
    }
    for call in work.values():  # warm-up: compile, load caches, touch every page
        for _ in range(3):
            call()

    def noop() -> None:
        return None

    def region(call: Any) -> None:
        os.getppid()  # callgrind dumps here (the counters of what came before)...
        for _ in range(calls):
            call()
        os.getppid()  # ...and here: this dump is the region

    for kernel in KERNELS:
        region(noop)
        region(work[kernel])
    print(json.dumps({"kernels": list(KERNELS), "calls": calls}))


# -- the parent -------------------------------------------------------------------------------

_SUMMARY = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def _dump_total(path: Path) -> int:
    found = _SUMMARY.search(path.read_text(errors="replace"))
    if found is None:
        raise RuntimeError(f"no instruction total in {path}")
    return int(found.group(1))


def count(backend: str, rows: int = ROWS, buffer_size: int = BUFFER) -> dict[str, Any]:
    """Instructions per call, per row (per byte for xxh64) of every kernel of ``backend``."""
    from hotpath import backends

    calls = SLOW_CALLS if backend == backends.REFERENCE else CALLS
    if backend == backends.REFERENCE:
        rows, buffer_size = min(rows, SLOW_ROWS), min(buffer_size, 64 * 1024)
    with tempfile.TemporaryDirectory(prefix="hotpath-callgrind-") as work:
        out = Path(work) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--dump-before=getppid",
            f"--callgrind-out-file={out}", sys.executable, "-m", "hotpath.runs.instructions",
            "child", backend, str(rows), str(buffer_size), str(calls),
        ]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, **ENV}, check=False
        )
        if done.returncode != 0:
            tail = "\n".join(done.stderr.splitlines()[-15:])
            raise RuntimeError(f"callgrind run of {backend} failed:\n{tail}")
        plan = json.loads(done.stdout.strip().splitlines()[-1])
        dumps = {int(p.suffix[1:]): _dump_total(p) for p in Path(work).glob("callgrind.out.*")}
    # getppid calls: region i starts with call 2i+1 and ends with call 2i+2; dump j holds
    # what ran before call j since the last dump, so region i is dump 2i+2.
    found: dict[str, Any] = {}
    for k, kernel in enumerate(plan["kernels"]):
        empty, full = dumps[4 * k + 2], dumps[4 * k + 4]
        per_call = (full - empty) / plan["calls"]
        unit = buffer_size if kernel == "xxh64" else rows
        found[kernel] = {"per_call": per_call, "per_unit": per_call / unit, "unit": unit}
    return found


def count_all(names: Sequence[str], rows: int = ROWS, buffer_size: int = BUFFER) -> dict[str, Any]:
    from hotpath import backends

    out: dict[str, Any] = {"rows": rows, "buffer_bytes": buffer_size, "backends": {}}
    for name in names:
        status = backends.status(name)
        if not status.available:
            out["backends"][name] = {"skipped": status.reason}
            continue
        try:
            out["backends"][name] = count(name, rows, buffer_size)
        except RuntimeError as error:
            out["backends"][name] = {"skipped": str(error)}
    return out


def table(found: dict[str, Any]) -> Any:
    from rich import box
    from rich.table import Table

    result = Table(
        title=f"instructions per row (xxh64: per byte), callgrind, {found['rows']:,} rows, "
        f"{found['buffer_bytes'] // 1024} KiB (python_ref: {SLOW_ROWS:,} rows, 64 KiB)",
        box=box.SIMPLE_HEAD,
    )
    result.add_column("backend")
    for kernel in KERNELS:
        result.add_column(kernel, justify="right")
    for name, kernels in found["backends"].items():
        if "skipped" in kernels:
            result.add_row(name, *["–"] * len(KERNELS))
            continue
        result.add_row(name, *(f"{kernels[k]['per_unit']:,.1f}" for k in KERNELS))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        backend, rows, size, calls = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
        _child(backend, rows, size, calls)
        return 0
    parser = argparse.ArgumentParser(prog="python -m hotpath.runs.instructions")
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hotpath import backends

    parser.add_argument(
        "--backends", default=",".join(backends.NAMES), help="comma-separated (default: all)"
    )
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--buffer", type=int, default=BUFFER, help="xxh64's bytes")
    parser.add_argument("--json", type=Path, help="also write the counts as JSON")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    why = available()
    if why:
        print(f"hotpath instructions: {why}", file=sys.stderr)
        return 1
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    found = count_all(names, args.rows, args.buffer)
    Console().print(table(found))
    for name, kernels in found["backends"].items():
        if "skipped" in kernels:
            print(f"skipped {name}: {kernels['skipped']}")
    if args.json is not None:
        args.json.write_text(json.dumps(found, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
