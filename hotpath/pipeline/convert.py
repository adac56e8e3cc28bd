"""``hotpath convert``: readings CSV files as binary files of their three typed columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hotpath.pipeline.errors import PipelineError
from hotpath.pipeline.inputs import discover
from hotpath.pipeline.loading import check
from hotpath.pipeline.readers import get

SUFFIX = {"parquet": ".parquet", "arrow": ".arrow", "npz": ".npz"}


def convert(paths: Sequence[str | Path], to: str, out: Path) -> list[Path]:
    """Each CSV file read (bad records stop it, as ``hotpath pipeline`` would) and written
    to ``out`` under its own name with the new suffix."""
    files = discover(paths)
    if any(f.suffix != ".csv" for f in files):
        raise PipelineError("convert reads CSV files only")
    reader = get("native") if not get("native").available() else get("stdlib")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in files:
        parsed = reader.read(path)
        check(parsed, "error")
        columns = {
            "device_id": np.asarray(parsed.device_id, np.uint32),
            "timestamp": np.asarray(parsed.timestamp, np.int64),
            "kwh": np.asarray(parsed.kwh, np.float64),
        }
        target = out / (path.stem + SUFFIX[to])
        if to == "npz":
            np.savez(target, **columns)  # uncompressed: read back at memory speed
        else:
            import pyarrow as pa

            table = pa.table(columns)
            if to == "parquet":
                import pyarrow.parquet as pq

                pq.write_table(table, target)  # pyarrow's defaults: snappy, one row group
            else:
                import pyarrow.feather as feather

                feather.write_feather(table, target, compression="uncompressed")
        written.append(target)
    return written
