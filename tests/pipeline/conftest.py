"""Datasets for the pipeline's tests: the hand-made edge files, and generated folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotpath import data

EDGE = Path(__file__).parent / "edge"


@pytest.fixture(scope="session")
def edge() -> Path:
    """Hand-made files: quoting, CRLF, a BOM, a blank line, ids at 0 and 2**32-1, timestamps
    at both ends of int64, NaN spelled three ways, signed zeros, duplicates within and across
    files whose values differ (so which one is first matters)."""
    return EDGE


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 readings of 300 devices with sparse ids, in 7 files."""
    folder = tmp_path_factory.mktemp("generated")
    readings = data.with_sparse_ids(data.generate(20_000, 300, seed=7), seed=7)
    data.write_files(readings, folder, 7)
    return folder
