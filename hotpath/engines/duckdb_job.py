"""The job in DuckDB: SQL over ``read_csv`` -- or ``read_parquet`` -- of the files, in one
in-memory database, with no load step of its own.

``row_number() OVER ()`` numbers the rows in file order (DuckDB documents that an empty
``OVER`` keeps the input order), so "first occurrence" is the lowest number of each
(device, timestamp); the group-by then runs on every core. Parquet files (``hotpath
convert``) hold a missing reading as NaN, which SQL's aggregates would count: it is made NULL.
"""

from __future__ import annotations

from collections.abc import Callable

from hotpath.engines import PeerJob, devices_from, fingerprint
from hotpath.pipeline.analytics import Stopwatch
from hotpath.pipeline.readers.guarded import NAN_SPELLINGS
from hotpath.pipeline.report import Devices

LOAD = """
CREATE TABLE readings AS
SELECT device_id, timestamp, kwh, row_number() OVER () AS row_order
FROM read_csv($files, header = true, nullstr = $nulls, union_by_name = true,
              types = {'device_id': 'UINTEGER', 'timestamp': 'BIGINT', 'kwh': 'DOUBLE'})
"""
LOAD_PARQUET = """
CREATE TABLE readings AS
SELECT device_id, timestamp, CASE WHEN isnan(kwh) THEN NULL ELSE kwh END AS kwh,
       row_number() OVER () AS row_order
FROM read_parquet($files)
"""
DEDUP = """
CREATE TABLE kept AS
SELECT device_id, timestamp, kwh FROM readings
QUALIFY row_number() OVER (PARTITION BY device_id, timestamp ORDER BY row_order) = 1
"""
AGGREGATE = """
SELECT device_id, count(kwh), coalesce(sum(kwh), 0.0), min(kwh), max(kwh)
FROM kept GROUP BY device_id ORDER BY device_id
"""


class DuckdbJob(PeerJob):
    name = "duckdb"
    description = "DuckDB: SQL over read_csv, QUALIFY row_number() = 1, GROUP BY"
    module = "duckdb"
    suffixes = (".csv", ".parquet")

    def job(
        self, files: list[str], clock: Stopwatch
    ) -> tuple[int, int, Devices, Callable[[], int]]:
        import duckdb

        db = duckdb.connect(":memory:")

        def load() -> int:
            if files and files[0].endswith(".parquet"):
                db.execute(LOAD_PARQUET, {"files": files})
            else:
                db.execute(LOAD, {"files": files, "nulls": ["", *NAN_SPELLINGS]})
            return db.execute("SELECT count(*) FROM readings").fetchone()[0]

        rows = clock.time("load", load)
        kept = clock.time(
            "dedup",
            lambda: db.execute(DEDUP) and db.execute("SELECT count(*) FROM kept").fetchone()[0],
        )
        stats = clock.time("aggregate", lambda: db.execute(AGGREGATE).fetchnumpy())
        columns = list(stats.values())
        devices = devices_from(
            *(c.filled(float("nan")) if hasattr(c, "filled") else c for c in columns)
        )

        def hashing() -> int:
            found = db.execute("SELECT device_id, timestamp, kwh FROM kept").fetchnumpy()
            kwh = found["kwh"]
            kwh = kwh.filled(float("nan")) if hasattr(kwh, "filled") else kwh
            result = fingerprint(found["device_id"], found["timestamp"], kwh)
            db.close()
            return result

        return rows, rows - kept, devices, hashing


ENGINE = DuckdbJob()
