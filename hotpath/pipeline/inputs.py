"""Which files a run reads: files as given, a folder's readings files sorted by name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hotpath.pipeline.errors import PipelineError

# What a folder contributes: CSV, or one binary format written by `hotpath convert`.
SUFFIXES = (".csv", ".parquet", ".arrow", ".npz")


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """The files to read, in order: each path as given; a folder stands for its files of one
    readings format, sorted by name. A missing path, or a folder without readings, is a
    PipelineError naming it."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            kinds = {suffix: sorted(path.glob(f"*{suffix}")) for suffix in SUFFIXES}
            present = [suffix for suffix, files in kinds.items() if files]
            if not present:
                raise PipelineError(f"{path}: no readings files ({', '.join(SUFFIXES)}) in it")
            if len(present) > 1:
                raise PipelineError(
                    f"{path}: holds readings in {' and '.join(present)}: give one format's "
                    "files, or put them in separate folders"
                )
            found += [f for f in kinds[present[0]] if f.is_file()]
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise PipelineError(f"{path}: not a file or folder")
        else:
            raise PipelineError(f"{path}: no such file or folder")
    if not found:
        raise PipelineError("no input files given")
    return found
