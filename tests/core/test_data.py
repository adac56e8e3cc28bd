"""The dataset generator and CSV round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotpath import csvio, data
from hotpath.cli import main


def test_default_dataset_shape() -> None:
    r = data.generate()
    assert len(r) == 100_000 and r.n_devices == 1_000
    assert (r.device_id.dtype, r.timestamp.dtype, r.kwh.dtype) == (np.uint32, np.int64, np.float64)
    assert set(np.unique(r.device_id)) == set(range(1_000))
    repeated = pd.DataFrame({"d": r.device_id, "t": r.timestamp}).duplicated().mean()
    assert 0.008 < repeated < 0.012
    assert 0.003 < np.isnan(r.kwh).mean() < 0.007
    assert (r.kwh[~np.isnan(r.kwh)] >= 0).all()
    assert (np.diff(r.timestamp) > -600).all()  # time order, retransmissions a little late


def test_deterministic() -> None:
    a, b = data.generate(5_000, seed=4), data.generate(5_000, seed=4)
    for x, y in zip(a.as_lists(), b.as_lists()):
        assert np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
    assert not np.array_equal(a.kwh, data.generate(5_000, seed=5).kwh, equal_nan=True)


@pytest.mark.parametrize("n", [0, 1, 2, 999, 1_001])
def test_any_size(n: int) -> None:
    assert len(data.generate(n, 10)) == n


def test_csv_round_trip_is_exact(tmp_path: Path) -> None:
    r = data.generate(3_000, 40, seed=2)
    r.kwh[5] = -0.0
    r.kwh[6] = 1 / 3
    path = tmp_path / "readings.csv"
    r.to_csv(path)
    back = data.Readings.from_csv(path)
    assert back.n_devices == 40
    for x, y in ((r.device_id, back.device_id), (r.timestamp, back.timestamp), (r.kwh, back.kwh)):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()


def test_csv_rejects_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,time,value\n1,2,3\n")
    with pytest.raises(ValueError, match="header"):
        csvio.read_csv(path)
    path.write_text("device_id,timestamp,kwh\n1,2,abc\n")
    with pytest.raises(ValueError, match=":2:"):
        csvio.read_csv(path)


def test_cli_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.csv"
    assert main(["generate", str(out), "--readings", "500", "--devices", "7"]) == 0
    assert len(csvio.read_csv(out)[0]) == 500
