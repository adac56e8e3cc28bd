"""Every reader reads exactly what the grammar says, as the standard library's reference
reader does: the same rows (floats by their bits), the same rejects, the same file errors --
differentially, on generated files of valid and broken records and on raw byte noise."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotpath import data
from hotpath.pipeline import readers
from hotpath.pipeline.readers.base import Parsed

FAST = [name for name in readers.READERS if name != "stdlib"]

HEADERS = [
    b"device_id,timestamp,kwh",
    b"kwh,device_id,note,timestamp",
    b"\xef\xbb\xbfdevice_id,timestamp,kwh",
    b'"device_id","timestamp",kwh',
    b"device_id,timestamp",  # no kwh: the whole file is rejected
    b"device_id,kwh,timestamp,kwh",  # kwh twice
]
VALID = [b"0", b"1", b"42", b"4294967295", b"-0", b"+7", b"0.5", b"-0.0", b"1e3", b".5", b"5.",
         b"", b"nan", b"NaN", b"-nan", b"1.7976931348623157e308", b"5e-324", b"0.1",
         b"123456789.123456789", b"-9223372036854775808", b"9223372036854775807",
         b"00012", b"1767225600"]  # fmt: skip
BROKEN = [b"x", b"inf", b"-Infinity", b" 1", b"1 ", b"4294967296", b"-1", b"9223372036854775808",
          b"1e999", b'"3"', b'"1""2"', b'"a,b"', b'"multi\nline"', b"\xff", b"\xc3\xa9", b"1_0",
          b"0x1", b'"x"y', b'"open', b"1.5.2", b"--1", b"e5"]  # fmt: skip
BREAKS = [b"\n", b"\r\n", b"\r"]


@st.composite
def readings_files(draw: Any) -> bytes:
    header = draw(st.sampled_from(HEADERS))
    width = header.count(b",") + 1
    newline = draw(st.sampled_from(BREAKS))
    lines = [header]
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 19)) == 0:
            lines.append(b"")  # a blank line
            continue
        fields = width + draw(st.sampled_from([0] * 8 + [-1, 1]))
        pool = VALID + BROKEN if draw(st.integers(0, 5)) == 0 else VALID
        lines.append(b",".join(draw(st.sampled_from(pool)) for _ in range(fields)))
    end = newline if draw(st.booleans()) else b""
    return newline.join(lines) + end


def _key(parsed: Parsed) -> tuple:
    bits = [struct.pack("<d", value) for value in parsed.kwh]
    return (
        [int(v) for v in parsed.device_id],
        [int(v) for v in parsed.timestamp],
        bits,
        parsed.rows_read,
        parsed.rejects,
        parsed.file_error,
    )


def _reader(name: str) -> Any:
    reader = readers.get(name)
    if reader.available():
        pytest.skip(reader.available())
    return reader


FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("name", FAST)
@FUZZ
@given(content=readings_files())
def test_same_as_reference(name: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "readings.csv"
    path.write_bytes(content)
    assert _key(_reader(name).read(path)) == _key(readers.get("stdlib").read(path))


@pytest.mark.parametrize("name", FAST)
@FUZZ
@given(content=st.binary(max_size=200))
def test_same_as_reference_on_noise(name: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(b"device_id,timestamp,kwh\n" + content)
    assert _key(_reader(name).read(path)) == _key(readers.get("stdlib").read(path))


@pytest.mark.parametrize("name", list(readers.READERS))
def test_generated_file_reads_back_exactly(name: str, tmp_path: Path) -> None:
    """Written by hotpath generate, read by each reader: the very bits, no fallback."""
    readings = data.with_sparse_ids(data.generate(5_000, 40, seed=3), seed=3)
    (path,) = data.write_files(readings, tmp_path, 1)
    parsed = _reader(name).read(path)
    assert parsed.fallback == "" and parsed.rejects == []
    assert np.array_equal(np.asarray(parsed.device_id, np.uint32), readings.device_id)
    assert np.array_equal(np.asarray(parsed.timestamp, np.int64), readings.timestamp)
    kwh = np.asarray(parsed.kwh, np.float64)
    assert np.array_equal(kwh.view(np.uint64), readings.kwh.view(np.uint64))


def test_native_reader_never_overruns_its_columns(tmp_path: Path) -> None:
    from rust_ext._kernels import parse_readings_into

    text = b"device_id,timestamp,kwh\n1,2,3\n4,5,6\n"
    small = (np.empty(1, np.uint32), np.empty(1, np.int64), np.empty(1, np.float64))
    with pytest.raises(ValueError, match="too short"):
        parse_readings_into(np.frombuffer(text, np.uint8), *small)
