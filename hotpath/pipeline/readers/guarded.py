"""Third-party CSV parsers (pandas, pyarrow, polars) as readers that cannot be wrong.

Each is fast on the files it was made for and lenient about some it was not: pandas and
polars fill a record with too few fields with missing values, any of them may read ``inf`` or
a number with spaces around it. So every file goes through guards that are cheap beside the
parse -- valid UTF-8, a valid header (checked by the reference reader's own rules), no spaces,
the right number of commas where the parser pads short records, nothing that Arrow would read
as hexadecimal -- and its columns through
checks of type and range afterwards. A file that fails any of them, or that the parser
rejects, is read by the reference reader instead, which words every reject exactly; the
report says how many files that was. The result is the reference reader's, whichever reader
ran.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from pathlib import Path

import numpy as np

from hotpath.pipeline import grammar
from hotpath.pipeline.readers.base import Parsed
from hotpath.pipeline.readers.stdlib_csv import BOM, StdlibReader

# Every spelling float() reads as NaN: a missing reading (told to parsers that take a list).
NAN_SPELLINGS = [
    sign + "".join(letters)
    for sign in ("", "+", "-")
    for letters in itertools.product("nN", "aA", "nN")
]


def pandas_float_options() -> dict[str, str]:
    """pandas before 3 parses floats with a fast parser that is not correctly rounded unless
    asked for ``round_trip``; pandas 3 rounds correctly by default and deprecates the option
    (both checked against float() by tests/pipeline/test_readers.py)."""
    import pandas as pd

    return {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


class Unsuitable(Exception):
    """This file is not for the fast parser: the reference reader reads it."""


def header(data: bytes) -> tuple[list[str], int]:
    """The header's names and the byte offset of the line after it (Unsuitable if it is not
    a valid header on the file's first line)."""
    body = data[len(BOM) :] if data.startswith(BOM) else data
    end = body.find(b"\n")
    if end < 0:
        raise Unsuitable("no complete header line")
    try:
        line = body[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise Unsuitable("header is not UTF-8") from None
    try:
        (names,) = list(csv.reader(io.StringIO(line, newline=""), strict=True))
    except (csv.Error, ValueError):
        raise Unsuitable("header is not one plain record") from None
    try:
        grammar.header_positions(names)
    except grammar.HeaderError:
        raise Unsuitable("invalid header") from None
    return names, end + 1


class Guarded:
    """A reader on a third-party parser; subclasses provide ``_columns``."""

    name = ""
    releases_gil = True
    arrays = True
    # The parser fills a record with too few fields with missing values instead of failing:
    # then the file's commas are counted, which needs a file without quotes.
    pads_short_records = False

    def available(self) -> str:
        return ""

    def _columns(self, path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def read(self, path: Path) -> Parsed:
        try:
            return self._read(path)
        except Unsuitable as why:
            parsed = StdlibReader().read(path)
            parsed.fallback = str(why)
            return parsed

    def _read(self, path: Path) -> Parsed:
        data = path.read_bytes()
        names, _ = header(data)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise Unsuitable("not UTF-8") from None
        if b" " in data or b"\t" in data:
            raise Unsuitable("spaces: a lenient parser might trim them")
        if b"0x" in data or b"0X" in data:
            raise Unsuitable("hexadecimal-looking text: Arrow reads 0x1 as an integer")
        try:
            ids, stamps, kwh = self._columns(path, data)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # its complaint, or a panic (polars': not an Exception)
            raise Unsuitable(f"{type(error).__name__}: {error}") from None
        rows = len(ids)
        if self.pads_short_records:
            if b'"' in data:
                raise Unsuitable("quoted fields: commas cannot be counted")
            body = data.count(b",") - (len(names) - 1)  # the header's commas
            if body != rows * (len(names) - 1):
                raise Unsuitable("a record with too few or too many fields")
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu" or (rows and (ids.min() < 0 or ids.max() > 0xFFFFFFFF)):
            raise Unsuitable("device ids out of range or not integers")
        stamps = np.asarray(stamps)
        if stamps.dtype != np.int64:
            raise Unsuitable("timestamps not 64-bit integers")
        kwh = np.array(kwh, np.float64)
        if np.isinf(kwh).any():
            raise Unsuitable("infinite kwh")
        kwh[np.isnan(kwh)] = math.nan  # one NaN for every spelling
        return Parsed(str(path), ids.astype(np.uint32), stamps, kwh, rows)
