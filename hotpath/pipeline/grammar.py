"""What a valid readings file is: the rules every reader applies, and their messages.

A file is CSV as RFC 4180 writes it and Python's ``csv`` module reads it (``strict=True``):
fields separated by commas, records by LF, CRLF or a lone CR, a field that starts with a
double quote runs to the next lone double quote (``""`` is a quote inside it; newlines and
commas are part of it), an optional UTF-8 byte order mark before the header, blank lines
skipped. The first record is the header; it names ``device_id``, ``timestamp`` and ``kwh`` in
any order, once each; other columns are ignored. Every record has as many fields as the
header. A record must be valid UTF-8 throughout.

Fields, in ASCII, with no surrounding spaces:

* ``device_id``: an integer (``[+-]?[0-9]+``) in [0, 2**32);
* ``timestamp``: an integer in [-2**63, 2**63), Unix seconds;
* ``kwh``: a decimal number as Python's ``float()`` reads it (``1``, ``-0.5``, ``.5``, ``1e-3``),
  giving exactly the float ``float()`` gives; empty, or ``nan`` in any case and sign, means a
  missing reading. Infinities are rejected: a meter cannot report them, and the report is
  JSON, which cannot hold them.

Every reader -- the standard library's, the native one, those built on pandas, pyarrow and
polars -- accepts exactly these files and rejects everything else with the messages below,
formatted here from a reason code so that they cannot drift apart.
"""

from __future__ import annotations

import math
import re
from enum import IntEnum

COLUMNS = ("device_id", "timestamp", "kwh")
UINT32_LIMIT = 1 << 32
INT64_MIN, INT64_LIMIT = -(1 << 63), 1 << 63

INTEGER = re.compile(r"[+-]?[0-9]+\Z")
NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z",
    re.IGNORECASE,
)


class Reason(IntEnum):
    """Why a record or a file is rejected. The native reader returns these numbers."""

    FIELD_COUNT = 1
    NOT_INTEGER = 2
    ID_RANGE = 3
    TIMESTAMP_RANGE = 4
    NOT_NUMBER = 5
    NOT_FINITE = 6
    NOT_UTF8 = 7
    QUOTE = 8
    UNTERMINATED = 9
    # file-level: the whole file is unusable
    EMPTY_FILE = 20
    HEADER_MISSING_COLUMNS = 21
    HEADER_DUPLICATE_COLUMN = 22
    BAD_HEADER_RECORD = 23  # the header record itself is malformed (quote, UTF-8)


FILE_REASONS = frozenset(
    {
        Reason.EMPTY_FILE,
        Reason.HEADER_MISSING_COLUMNS,
        Reason.HEADER_DUPLICATE_COLUMN,
        Reason.BAD_HEADER_RECORD,
    }
)


def message(reason: Reason, detail: str = "", column: str = "", expected: int = 0) -> str:
    """The one wording of each reason. ``detail`` is the offending text (a field's value, the
    header's names, a tokenizer's complaint)."""
    if reason == Reason.FIELD_COUNT:
        return f"expected {expected} fields, found {detail}"
    if reason == Reason.NOT_INTEGER:
        return f"{column} {detail!r} is not an integer"
    if reason == Reason.ID_RANGE:
        return f"{column} {detail} outside [0, 2**32)"
    if reason == Reason.TIMESTAMP_RANGE:
        return f"{column} {detail} outside [-2**63, 2**63)"
    if reason == Reason.NOT_NUMBER:
        return f"{column} {detail!r} is not a number"
    if reason == Reason.NOT_FINITE:
        return f"{column} {detail!r} is not finite"
    if reason == Reason.NOT_UTF8:
        return "not valid UTF-8"
    if reason == Reason.QUOTE:
        return "a closing quote must be followed by ',' or the end of the line"
    if reason == Reason.UNTERMINATED:
        return "quoted field not closed before the end of the file"
    if reason == Reason.EMPTY_FILE:
        return "empty file: no header"
    if reason == Reason.HEADER_MISSING_COLUMNS:
        return f"header lacks {detail}: expected a header naming device_id, timestamp and kwh"
    if reason == Reason.HEADER_DUPLICATE_COLUMN:
        return f"header names {detail!r} more than once"
    if reason == Reason.BAD_HEADER_RECORD:
        return f"unreadable header: {detail}"
    raise ValueError(f"unknown reason {reason!r}")


class FieldError(ValueError):
    """One field breaks a rule."""

    def __init__(self, reason: Reason, column: str, text: str) -> None:
        super().__init__(message(reason, text, column))
        self.reason, self.column, self.text = reason, column, text


def device_id(text: str) -> int:
    if not INTEGER.match(text):
        raise FieldError(Reason.NOT_INTEGER, "device_id", text)
    value = int(text)
    if not 0 <= value < UINT32_LIMIT:
        raise FieldError(Reason.ID_RANGE, "device_id", text)
    return value


def timestamp(text: str) -> int:
    if not INTEGER.match(text):
        raise FieldError(Reason.NOT_INTEGER, "timestamp", text)
    value = int(text)
    if not INT64_MIN <= value < INT64_LIMIT:
        raise FieldError(Reason.TIMESTAMP_RANGE, "timestamp", text)
    return value


def kwh(text: str) -> float:
    if not text:
        return math.nan
    if not NUMBER.match(text):
        raise FieldError(Reason.NOT_NUMBER, "kwh", text)
    value = float(text)
    if math.isinf(value):
        raise FieldError(Reason.NOT_FINITE, "kwh", text)
    return math.nan if value != value else value  # one NaN for every spelling (-nan too)


def header_positions(names: list[str]) -> tuple[int, int, int]:
    """The positions of device_id, timestamp and kwh in a header, or a FileRejected reason."""
    found = {}
    for position, name in enumerate(names):
        if name in COLUMNS:
            if name in found:
                raise HeaderError(Reason.HEADER_DUPLICATE_COLUMN, name)
            found[name] = position
    missing = [name for name in COLUMNS if name not in found]
    if missing:
        raise HeaderError(Reason.HEADER_MISSING_COLUMNS, ", ".join(missing))
    return found["device_id"], found["timestamp"], found["kwh"]


class HeaderError(ValueError):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(message(reason, detail))
        self.reason, self.detail = reason, detail
