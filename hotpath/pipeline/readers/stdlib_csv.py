"""The standard library's reader, and the reference for every other: ``csv.reader`` in strict
mode over the decoded file, then :mod:`hotpath.pipeline.grammar` on each field.

Pure Python, so it is the slow rung of the ladder, and the one whose behaviour on odd input
defines what the fast readers must do (the tests compare them with it on hand-made and
generated files, valid and broken).
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotpath.pipeline import grammar
from hotpath.pipeline.errors import Reject
from hotpath.pipeline.grammar import FieldError, HeaderError, Reason
from hotpath.pipeline.readers.base import Parsed

BOM = b"\xef\xbb\xbf"
# As the csv module splits physical lines when the file is opened with newline="".
LINE_END = re.compile(r"\r\n|\r|\n")
# Records are checked field by field by the grammar; the csv module's own size limit
# (128 KiB per field) would be one more rule for the other readers to copy.
csv.field_size_limit(sys.maxsize)


def _tokenizer_reason(error: csv.Error) -> Reason:
    # The two complaints strict mode has about valid UTF-8 text.
    return Reason.UNTERMINATED if "unexpected end of data" in str(error) else Reason.QUOTE


# surrogateescape turns each undecodable byte into a lone surrogate, U+DC80..U+DCFF
UNDECODABLE = re.compile("[\udc80-\udcff]")


def _has_invalid_utf8(fields: list[str]) -> bool:
    return any(UNDECODABLE.search(text) for text in fields)


@dataclass
class Record:
    """One data record: where it starts, and its fields as text."""

    line: int
    fields: list[str]


class Records:
    """A file's records, in order: :class:`Record` for a well-formed one, :class:`Reject` for
    one that is not. ``positions`` is where device_id, timestamp and kwh are; ``file_error``
    says why the whole file is rejected (then every record comes out as a Reject)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        raw = path.read_bytes()
        self._raw_offset = len(BOM) if raw.startswith(BOM) else 0
        self.text = raw[self._raw_offset :].decode("utf-8", "surrogateescape")
        self._all_utf8 = UNDECODABLE.search(self.text) is None  # then no record need checking
        self._line_starts: list[int] | None = None
        self.positions: tuple[int, int, int] = (0, 1, 2)
        self.width = 0
        self.file_error: Reject | None = None
        self.rows_read = 0  # data records; with a bad header, the header record too

    def raw(self, first: int, last: int) -> bytes:
        """Physical lines first..last (1-based), as bytes, without the last line break."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in LINE_END.finditer(self.text)]
        starts = self._line_starts
        end = starts[last] if last < len(starts) else len(self.text)
        chunk = self.text[starts[first - 1] : end]
        if chunk.endswith("\r\n"):
            chunk = chunk[:-2]
        elif chunk.endswith(("\n", "\r")):
            chunk = chunk[:-1]
        return chunk.encode("utf-8", "surrogateescape")

    def _reject(self, first: int, last: int, reason: str) -> Reject:
        return Reject(self.path, first, reason, self.raw(first, last))

    def __iter__(self) -> Iterator[Record | Reject]:
        reader = csv.reader(io.StringIO(self.text, newline=""), strict=True)
        for item in self._items(reader):
            self.rows_read += 1
            yield item

    def _items(self, reader: Any) -> Iterator[Record | Reject]:
        header_seen = False
        while True:
            first = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                why = grammar.message(_tokenizer_reason(error))
                if not header_seen:
                    header_seen = True
                    why = grammar.message(Reason.BAD_HEADER_RECORD, why)
                    self.file_error = self._reject(first, reader.line_num, why)
                    yield self.file_error
                elif self.file_error is not None:
                    yield self._reject(first, reader.line_num, self.file_error.reason)
                else:
                    yield self._reject(first, reader.line_num, why)
                continue
            if not fields:  # a blank line
                continue
            last = reader.line_num
            if not header_seen:
                header_seen = True
                self.width = len(fields)
                try:
                    if not self._all_utf8 and _has_invalid_utf8(fields):
                        detail = grammar.message(Reason.NOT_UTF8)
                        raise HeaderError(Reason.BAD_HEADER_RECORD, detail)
                    self.positions = grammar.header_positions(fields)
                except HeaderError as error:
                    self.file_error = self._reject(first, last, str(error))
                    yield self.file_error
                continue
            if self.file_error is not None:
                yield self._reject(first, last, self.file_error.reason)
            elif not self._all_utf8 and _has_invalid_utf8(fields):
                yield self._reject(first, last, grammar.message(Reason.NOT_UTF8))
            elif len(fields) != self.width:
                why = grammar.message(Reason.FIELD_COUNT, str(len(fields)), expected=self.width)
                yield self._reject(first, last, why)
            else:
                yield Record(first, fields)
        if not header_seen:  # nothing to reject record by record: the file is the fault
            self.file_error = Reject(self.path, 1, grammar.message(Reason.EMPTY_FILE), b"")

    def values(self, record: Record) -> tuple[int, int, float]:
        """A record's three values (FieldError if a field breaks its rule)."""
        i, t, k = self.positions
        fields = record.fields
        return grammar.device_id(fields[i]), grammar.timestamp(fields[t]), grammar.kwh(fields[k])

    def rejected(self, record: Record, error: FieldError) -> Reject:
        return self._reject(record.line, record.line + record_lines(record) - 1, str(error))


def record_lines(record: Record) -> int:
    """Physical lines a record spans (a quoted field may hold line breaks)."""
    return 1 + sum(len(LINE_END.findall(field)) for field in record.fields)


class StdlibReader:
    name = "stdlib"
    releases_gil = False
    arrays = False

    def available(self) -> str:
        return ""

    def read(self, path: Path) -> Parsed:
        records = Records(path)
        ids: list[int] = []
        stamps: list[int] = []
        values: list[float] = []
        rejects: list[Reject] = []
        for item in records:
            if isinstance(item, Reject):
                rejects.append(item)
                continue
            try:
                device, stamp, kwh = records.values(item)
            except FieldError as error:
                rejects.append(records.rejected(item, error))
                continue
            ids.append(device)
            stamps.append(stamp)
            values.append(kwh)
        return Parsed(
            str(path), ids, stamps, values, records.rows_read, rejects, records.file_error
        )


def reader(name: str) -> StdlibReader:
    return StdlibReader()
