"""Bad input: the error that stops a run, the rejected record kept when it goes on, and the
file that keeps them where the user can see them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


class PipelineError(Exception):
    """A problem the user can fix (a missing file, a bad option); printed without a traceback."""


class BadInput(PipelineError):
    """The first bad record or file of a run that stops on bad input: ``file:line: what``."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(f"{reject.file}:{reject.line}: {reject.reason}")
        self.reject = reject


@dataclass(frozen=True)
class Reject:
    """One rejected record, verbatim: the physical lines it spans, without the last line
    break, as the bytes of the file."""

    file: str
    line: int  # where the record starts (1 = the header's line)
    reason: str
    raw: bytes


class RejectsWriter:
    """``--rejects FILE``: every rejected record as a CSV row ``file,line,reason,record``.

    The record is written byte for byte: invalid UTF-8 passes through unchanged (the file is
    written with ``surrogateescape``), so nothing the input held is lost or altered.
    """

    HEADER = ("file", "line", "reason", "record")

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "w", newline="", encoding="utf-8", errors="surrogateescape")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self.HEADER)

    def write(self, rejects: list[Reject]) -> None:
        for r in rejects:
            record = r.raw.decode("utf-8", "surrogateescape")
            self._writer.writerow((r.file, r.line, r.reason, record))

    def close(self) -> None:
        self._file.close()


def read_rejects(path: Path) -> list[tuple[str, int, str, bytes]]:
    """A rejects file back as (file, line, reason, raw bytes) -- for tests and tools."""
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as file:
        rows = list(csv.reader(file))
    return [(f, int(n), why, raw.encode("utf-8", "surrogateescape")) for f, n, why, raw in rows[1:]]
