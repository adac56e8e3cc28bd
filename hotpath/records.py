"""What one benchmark case is, as a saved run stores it.

The harness (``bench/``), the runs under other interpreters (``hotpath.runs``) and the
reports (``hotpath.reporting``) all write or read the same record: an implementation, its
kind, a kernel and an input size, labelled the same way everywhere. It lives in the core so
that each of them depends on it and none depends on another.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

LIMIT_GROUP = "machine limit"
# Bytes of input per row each kernel reads.
ROW_BYTES = {"aggregate": 4 + 8, "duplicates": 4 + 8, "hash_rows": 4 + 8 + 8, "factorize": 4}
# Bytes per row a kernel's call touches: its input and its per-row output (duplicates'
# flags, hash_rows' hashes, factorize's codes). Nominal: the arrays' bytes. aggregate's
# per-device outputs (at most 32 KiB here) and the hash tables are left out.
WORKING_ROW_BYTES = {"aggregate": 12, "duplicates": 12 + 1, "hash_rows": 20 + 8, "factorize": 4 + 4}


def size_label(kernel: str, size: int) -> str:
    if kernel in ("xxh64", "memory read"):
        return f"{size / 2**20:g}MiB"
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale and size % (scale // 10 or 1) == 0:
            return f"{size / scale:g}{unit}"
    return str(size)


def thread_case(implementation: str, threads: int) -> str:
    """The case name of a --hotpath-threads row: a parallel variant at a thread count, or
    (threads 0) its sequential backend timed beside it."""
    return f"{implementation} @{threads} threads" if threads else f"{implementation} (sequential)"


def case_name(info: dict[str, Any]) -> str:
    """The case a timed row's extra_info belongs to (its Outcome's implementation)."""
    if info.get("kind") == "threads":
        return thread_case(str(info.get("implementation")), int(info.get("threads") or 0))
    return str(info.get("implementation"))


def group(kernel: str, size: int, keys: str = "") -> str:
    """The benchmark group, e.g. "duplicates · 1M rows"; ``keys`` names hostile input, e.g.
    "duplicates · crafted keys (known key) · 1M rows"."""
    unit = "" if kernel == "xxh64" else " readings" if kernel == "pipeline" else " rows"
    what = f"{kernel} · crafted keys ({keys})" if keys else kernel
    return f"{what} · {size_label(kernel, size)}{unit}"


def input_bytes(kernel: str, size: int) -> int:
    return size if kernel in ("xxh64", "memory read") else ROW_BYTES[kernel] * size


def working_set_bytes(kernel: str, size: int) -> int:
    """What one call reads and writes: whether it stays in a cache between rounds."""
    return size if kernel in ("xxh64", "memory read") else WORKING_ROW_BYTES[kernel] * size


# A case's status starts with one of these when it gave no trustworthy answer.
FAILED = ("mismatch", "error")
SKIPPED = "skipped"


@dataclass
class Outcome:
    """One case of a run, timed or not. Every case is saved with the run
    (``hotpath_cases``), so a wrong answer or a skip is reported, not lost."""

    implementation: str
    kind: str  # backend, peer, pool, algorithm, limit, interpreter, wasm
    kernel: str
    size: int
    # "ok", "mismatch: ...", "error: ...", "skipped: ..."; "" while the case runs
    status: str = ""

    @property
    def group(self) -> str:
        return LIMIT_GROUP if self.kind == "limit" else group(self.kernel, self.size)

    @property
    def failed(self) -> bool:
        """A wrong answer, a crash, or a case that never finished."""
        return self.status.startswith(FAILED) or not self.status

    @property
    def skipped(self) -> bool:
        return self.status.startswith(SKIPPED)

    def key(self) -> tuple[str, str, int]:
        return (self.implementation, self.kernel, self.size)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "group": self.group}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Outcome:
        return cls(
            saved["implementation"],
            saved["kind"],
            saved["kernel"],
            saved["size"],
            saved.get("status", ""),
        )

    def info(self, timed: str) -> dict[str, Any]:
        """What is stored with the benchmark in the saved run."""
        return {
            "implementation": self.implementation,
            "kind": self.kind,
            "kernel": self.kernel,
            "size": self.size,
            "input_bytes": input_bytes(self.kernel, self.size),
            "timed": timed,
        }
