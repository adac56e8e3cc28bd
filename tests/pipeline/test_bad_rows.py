"""Bad input: by default the run stops at the first bad record with file:line and what is
wrong, and writes no report; with --on-bad-row skip it counts every rejected record and
writes each verbatim, so nothing is lost. The same on every engine of the ladder and every
reader."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hotpath.cli import main
from hotpath.pipeline import Options, PipelineError, readers, run
from hotpath.pipeline.errors import BadInput, read_rejects

HEADER = b"device_id,timestamp,kwh\n"
GOOD = b"1,1767225600,0.5\n"
# (name, file content, line of the first bad record, its message)
CASES = [
    ("too few fields", HEADER + GOOD + b"2,1767225600\n", 3, "expected 3 fields, found 2"),
    ("too many fields", HEADER + b"2,1,0.5,9\n", 2, "expected 3 fields, found 4"),
    ("id not an integer", HEADER + b"1.5,1,2\n", 2, "device_id '1.5' is not an integer"),
    ("id negative", HEADER + b"-1,1,2\n", 2, "device_id -1 outside [0, 2**32)"),
    ("id too big", HEADER + b"4294967296,1,2\n", 2, "device_id 4294967296 outside [0, 2**32)"),
    ("timestamp not an integer", HEADER + b"1,2026-01-01,2\n", 2,
     "timestamp '2026-01-01' is not an integer"),
    ("timestamp outside int64", HEADER + b"1,9223372036854775808,2\n", 2,
     "timestamp 9223372036854775808 outside [-2**63, 2**63)"),
    ("kwh unparsable", HEADER + GOOD + GOOD + b"1,5,12kWh\n", 4, "kwh '12kWh' is not a number"),
    ("kwh infinite", HEADER + b"1,5,inf\n", 2, "kwh 'inf' is not finite"),
    ("no header", GOOD + GOOD, 1,
     "header lacks device_id, timestamp, kwh: expected a header naming device_id, timestamp "
     "and kwh"),
    ("wrong header", b"id,time,energy\n" + GOOD, 1,
     "header lacks device_id, timestamp, kwh: expected a header naming device_id, timestamp "
     "and kwh"),
    ("empty file", b"", 1, "empty file: no header"),
    ("truncated last line", HEADER + GOOD + b"3,17672", 3, "expected 3 fields, found 2"),
    ("unterminated quote", HEADER + GOOD + b'3,"17672\n', 3,
     "quoted field not closed before the end of the file"),
    ("stray quote", HEADER + b'"3"x,1,2\n', 2,
     "a closing quote must be followed by ',' or the end of the line"),
    ("non-UTF-8 byte", HEADER + GOOD + b"3,4,0.5\xff\n", 3, "not valid UTF-8"),
]  # fmt: skip
LADDER = [
    ("naive", Options()),
    ("objects", Options()),
    *[("columnar", Options(reader=name, backend="cffi_ext")) for name in readers.READERS],
    ("sqlite", Options()),  # the databases: nothing of a failed load is committed
    ("postgres", Options()),
]


def _write(folder: Path, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_bytes(HEADER + GOOD)  # a good file before the bad one
    (folder / "b.csv").write_bytes(content)
    return folder / "b.csv"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("engine", LADDER, ids=lambda e: f"{e[0]}-{e[1].reader}")
def test_stops_with_file_and_line(
    engine: tuple, case: tuple, tmp_path: Path, locate_engine: Callable[[str], str]
) -> None:
    _, content, line, message = case
    bad = _write(tmp_path, content)
    with pytest.raises(BadInput) as raised:
        run([tmp_path], locate_engine(engine[0]), engine[1])
    assert str(raised.value) == f"{bad}:{line}: {message}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("engine", LADDER, ids=lambda e: f"{e[0]}-{e[1].reader}")
def test_skip_counts_and_keeps_every_rejected_record(
    engine: tuple, case: tuple, tmp_path: Path, locate_engine: Callable[[str], str]
) -> None:
    _, content, line, message = case
    bad = _write(tmp_path, content)
    options = Options(**{**engine[1].__dict__, "on_bad_row": "skip"})
    report = run([tmp_path], locate_engine(engine[0]), options)
    assert report.rows_read == report.rows_kept + report.duplicates_dropped + report.rows_rejected
    if content == b"":
        assert report.files_rejected == [{"file": str(bad), "line": 1, "reason": message}]
        assert report.rows_rejected == 0
        return
    assert report.rows_rejected >= 1
    first = report.rejects[0]
    assert (first.file, first.line, first.reason) == (str(bad), line, message)
    # verbatim: every rejected record's bytes are in the file, at its line
    lines = content.splitlines(keepends=True)
    for reject in report.rejects:
        assert content.find(reject.raw) >= 0
        assert b"".join(lines[reject.line - 1 :]).startswith(reject.raw)


def test_cli_error_names_file_and_line_and_writes_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = _write(tmp_path / "data", HEADER + b"1,5,12kWh\n")
    out = tmp_path / "report.json"
    code = main(["pipeline", str(tmp_path / "data"), "--no-cache", "--json", str(out)])
    assert code == 1
    assert f"{bad}:2: kwh '12kWh' is not a number" in capsys.readouterr().err
    assert not out.exists()


def test_cli_skip_writes_rejects_verbatim(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    broken = HEADER + b"1,5,12kWh\n" + GOOD + b"2,6,0.5\xff\r\n" + b'3,"7\n8",1\n'
    bad = _write(tmp_path / "data", broken)
    rejects, out = tmp_path / "rejects.csv", tmp_path / "report.json"
    code = main(
        ["pipeline", str(tmp_path / "data"), "--no-cache", "--on-bad-row", "skip",
         "--rejects", str(rejects), "--json", str(out), "--quiet"]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    counts = ("rows_read", "rows_rejected", "duplicates_dropped", "rows_kept")
    assert [report[k] for k in counts] == [5, 3, 1, 1]  # a.csv's row comes again in b.csv
    assert read_rejects(rejects) == [
        (str(bad), 2, "kwh '12kWh' is not a number", b"1,5,12kWh"),
        (str(bad), 4, "not valid UTF-8", b"2,6,0.5\xff"),
        (str(bad), 5, "timestamp '7\\n8' is not an integer", b'3,"7\n8",1'),
    ]


@pytest.mark.parametrize("path", ["missing.csv", "missing-folder"])
def test_missing_input_is_a_clear_error(
    path: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["pipeline", str(tmp_path / path), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / path}: no such file or folder" in err and "Traceback" not in err


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="no readings files"):
        run([tmp_path])


@pytest.mark.parametrize("peer", ["polars", "duckdb", "pandas"])
def test_peers_report_the_bad_record_where_they_fail(peer: str, tmp_path: Path) -> None:
    bad = _write(tmp_path, HEADER + GOOD + b"x,1,2\n")
    with pytest.raises(BadInput, match=f"^{bad}:3: device_id 'x' is not an integer$"):
        run([tmp_path], peer)


def test_peers_do_not_skip(tmp_path: Path) -> None:
    _write(tmp_path, HEADER + GOOD)
    with pytest.raises(PipelineError, match="cannot skip bad rows"):
        run([tmp_path], "polars", Options(on_bad_row="skip"))
