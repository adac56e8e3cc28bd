"""What only the database engines have: a place (a file, a server) named in the engine's
name, tables that keep the input order, transactions that leave nothing of a failed load,
and PostgreSQL's errors -- a refused connection, a wrong password, a connection dropped
mid-load -- in the user's words. (Their reports are in test_engines.py's parity test, their
bad input in test_bad_rows.py's, with every other engine's.)"""

from __future__ import annotations

import math
import sqlite3
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hotpath.cli import main
from hotpath.pipeline import Options, PipelineError, engines, run
from hotpath.pipeline.errors import BadInput
from hotpath.pipeline.readers.stdlib_csv import StdlibReader
from hotpath.pipeline.report import mismatch

HEADER = b"device_id,timestamp,kwh\n"


def _files(folder: Path, *contents: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k, content in enumerate(contents):
        (folder / f"{k:02}.csv").write_bytes(HEADER + content)
    return folder


def _reference(folder: Path) -> Any:
    return run([folder], "columnar", Options(reader="stdlib", backend="python_ref"))


# -- the registry: names with a parameter ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("sqlite", ("sqlite", "")),
        ("sqlite:/tmp/a:b.sqlite", ("sqlite", "/tmp/a:b.sqlite")),
        ("postgres://u@h:5/db", ("postgres", "postgres://u@h:5/db")),
        ("postgresql://u@h/db", ("postgres", "postgresql://u@h/db")),
        ("columnar", ("columnar", "")),
    ],
)
def test_engine_names_split(name: str, split: tuple[str, str]) -> None:
    assert engines.split(name) == split


def test_an_engine_without_a_parameter_refuses_one() -> None:
    with pytest.raises(KeyError, match="engine columnar takes no parameter"):
        engines.get("columnar:fast")
    with pytest.raises(KeyError, match="no engine named 'mysql'"):
        engines.get("mysql://u@h/db")


# -- SQLite ------------------------------------------------------------------------------------


def test_sqlite_needs_no_set_up(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`hotpath pipeline data/ --engine sqlite`: a database file in the user cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "report.json"
    assert main(["pipeline", str(generated), "--engine", "sqlite", "--json", str(out)]) == 0
    assert "engine sqlite" in capsys.readouterr().out
    database = tmp_path / "cache" / "hotpath" / "readings.sqlite"
    assert database.exists()
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 20_000
        files = db.execute("SELECT path, first_row, rows FROM files ORDER BY file_no").fetchall()
    assert [f[0] for f in files] == [str(p) for p in sorted(generated.glob("*.csv"))]
    assert [f[1] for f in files] == list(np.cumsum([0] + [f[2] for f in files[:-1]]))


def test_sqlite_keeps_the_input_order_and_every_bit(edge: Path, tmp_path: Path) -> None:
    """The table holds the rows as the reference reader reads them: in row_order, every
    float by its bits (-0.0 stays -0.0), a missing kwh as NULL."""
    path = tmp_path / "r.sqlite"
    run([edge], f"sqlite:{path}")
    with sqlite3.connect(path) as db:
        stored = db.execute("SELECT device_id, timestamp, kwh FROM readings ORDER BY row_order")
        rows = stored.fetchall()
    reader = StdlibReader()
    want = []
    for file in sorted(edge.glob("*.csv")):
        parsed = reader.read(file)
        want += zip(parsed.device_id, parsed.timestamp, parsed.kwh)
    assert len(rows) == len(want) == 18

    def bits(row: tuple) -> tuple:
        kwh = row[2]
        return (*row[:2], None if kwh is None or math.isnan(kwh) else struct.pack("<d", kwh))

    assert [bits(r) for r in rows] == [bits(r) for r in want]


def test_sqlite_failed_load_leaves_the_previous_tables(generated: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    first = run([generated], f"sqlite:{path}")
    bad = _files(tmp_path / "bad", b"1,1,0.5\n", b"2,2,0.25\n2,x,1\n")
    with pytest.raises(BadInput, match=r"01.csv:3: timestamp 'x' is not an integer"):
        run([bad], f"sqlite:{path}")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == first.rows_read
        assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 7


def test_sqlite_keeps_the_rejects(tmp_path: Path) -> None:
    data = _files(tmp_path / "data", b"1,1,0.5\n1,1,12kWh\n")
    path = tmp_path / "r.sqlite"
    report = run([data], f"sqlite:{path}", Options(on_bad_row="skip"))
    assert report.rows_rejected == 1
    with sqlite3.connect(path) as db:
        stored = db.execute("SELECT file_no, line, reason, raw FROM rejects").fetchall()
    assert stored == [(0, 3, "kwh '12kWh' is not a number", b"1,1,12kWh")]


def test_sqlite_totals_past_the_largest_float(tmp_path: Path) -> None:
    """A total that overflows is infinity, as the reference says: the kernels add them."""
    data = _files(tmp_path / "data", b"1,1,1e308\n1,2,1e308\n1,3,-0.0\n")
    got = run([data], f"sqlite:{tmp_path / 'r.sqlite'}")
    assert mismatch(got, _reference(data)) is None
    assert got.results()["devices"][0]["total_kwh"] == "inf"


def test_sqlite_unwritable_place_is_a_clear_error(tmp_path: Path, generated: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(PipelineError, match=r"^SQLite database .*file/r\.sqlite: "):
        run([generated], f"sqlite:{tmp_path / 'file' / 'r.sqlite'}")


def test_sqlite_not_a_database_is_a_clear_error(tmp_path: Path, generated: Path) -> None:
    (tmp_path / "r.sqlite").write_bytes(b"not a database, " * 100)
    with pytest.raises(PipelineError, match="file is not a database"):
        run([generated], f"sqlite:{tmp_path / 'r.sqlite'}")


# -- PostgreSQL --------------------------------------------------------------------------------


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def test_postgres_copy_format_round_trips() -> None:
    from hotpath.engines.postgres_db import HEADER, ROW_IN, TRAILER, copy_rows

    kwh = np.array([0.5, np.nan, -0.0, np.nan])
    body = copy_rows(7, np.array([1, 2, 3, 2**32 - 1], np.uint32), np.arange(4), kwh)
    assert len(body) == 4 * ROW_IN.itemsize - 2 * 8  # two NULLs: no payload, length -1
    assert (HEADER + body + TRAILER).startswith(b"PGCOPY\n\xff\r\n\x00")


def test_postgres_report_and_tables(generated: Path, postgres_url: str) -> None:
    got = run([generated], postgres_url)
    assert mismatch(got, _reference(generated)) is None
    assert got.engine["database"].startswith("PostgreSQL at ")
    assert ":" not in got.engine["database"].split("@")[0]  # no password
    with _connect(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 20_000
        order = db.execute("SELECT min(row_order), max(row_order) FROM readings").fetchone()
        assert order == (0, 19_999)
        temporary = "SELECT count(*) FROM pg_tables WHERE tablename = 'kept'"
        assert db.execute(temporary).fetchone() == (0,)  # the run's own table is gone


def test_postgres_totals_past_the_largest_float(tmp_path: Path, postgres_url: str) -> None:
    """PostgreSQL refuses a float8 sum that overflows; the kernels give the reference's inf."""
    data = _files(tmp_path / "data", b"1,1,1e308\n1,2,1e308\n2,1,0.5\n")
    got = run([data], postgres_url)
    assert mismatch(got, _reference(data)) is None
    assert got.results()["devices"][0]["total_kwh"] == "inf"


def test_postgres_failed_load_leaves_the_previous_tables(
    generated: Path, tmp_path: Path, postgres_url: str
) -> None:
    run([generated], postgres_url)
    bad = _files(tmp_path / "bad", b"1,1,0.5\n", b"2,2,0.25\n2,x,1\n")
    with pytest.raises(BadInput, match=r"01\.csv:3: timestamp 'x' is not an integer"):
        run([bad], postgres_url)
    with _connect(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 20_000


def test_postgres_connection_dropped_mid_load(
    generated: Path, postgres_url: str, capsys: Any
) -> None:
    """The server ends the connection after the first file is in: a clear error, the previous
    tables intact (nothing of the load committed), and the next run connects again."""
    small = generated.parent / "small"
    small.mkdir(exist_ok=True)
    (small / "a.csv").write_bytes(HEADER + b"1,1,0.5\n")
    run([small], postgres_url)
    killed = threading.Event()

    def drop(path: Path) -> None:
        if killed.is_set():
            return
        with _connect(postgres_url) as db:
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'hotpath' AND state LIKE 'idle in transaction%' "
                "AND pid <> pg_backend_pid()"
            )
        killed.set()

    with pytest.raises(PipelineError) as raised:
        run([generated], postgres_url, Options(progress=drop))
    message = str(raised.value)
    assert killed.is_set()
    assert message.startswith("PostgreSQL at ") and "nothing of it was committed" in message
    with _connect(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 1
    assert mismatch(run([generated], postgres_url), _reference(generated)) is None


def test_postgres_wrong_password(generated: Path, postgres_url: str, capsys: Any) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    given = conninfo_to_dict(postgres_url)
    wrong = "postgres:" + make_conninfo(postgres_url, password="not-the-password")
    code = main(["pipeline", str(generated), "--engine", wrong, "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "cannot connect" in err and "password authentication failed" in err
    assert f"{given['host']}:{given['port']}" in err
    assert "not-the-password" not in err


def test_postgres_no_server(generated: Path, capsys: Any) -> None:
    from hotpath.engines import pg_cluster, postgres_db

    if postgres_db.ENGINE.available():
        pytest.skip(postgres_db.ENGINE.available())
    port = pg_cluster.free_port()  # nothing listens there
    url = f"postgresql://someone:secret@127.0.0.1:{port}/nowhere"
    code = main(["pipeline", str(generated), "--engine", url, "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"PostgreSQL at someone@127.0.0.1:{port}/nowhere: cannot connect" in err
    assert "refused" in err and "secret" not in err


# -- DuckDB, the analytical peer: the same SQL straight over Parquet ---------------------------


@pytest.mark.parametrize("dataset", ["edge", "generated"])
def test_duckdb_over_parquet(dataset: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from dataclasses import replace

    from hotpath.pipeline.convert import convert

    folder = request.getfixturevalue(dataset)
    convert([folder], "parquet", tmp_path / "parquet")
    got = run([tmp_path / "parquet"], "duckdb")
    want = _reference(folder)
    assert mismatch(replace(got, files=want.files), want, exact=False) is None
