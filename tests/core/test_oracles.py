"""Every backend against independent oracles: the official XXH64 vectors, the
`xxhash` package (the official C library), pandas (``duplicated``, ``factorize``) and
plain NumPy."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import xxhash

from hotpath import data

VECTORS = json.loads((Path(__file__).parent / "data" / "xxh64_vectors.json").read_text())


def sanity_buffer(length: int) -> bytes:
    """xxHash's own test buffer (see the vectors file)."""
    out, byte_gen = bytearray(), 2654435761
    for _ in range(length):
        out.append(byte_gen >> 56)
        byte_gen = (byte_gen * 11400714785074694797) % 2**64
    return bytes(out)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['length']}-{v['seed']}")
def test_official_vectors(backend: ModuleType, vector: dict) -> None:
    got = backend.xxh64(sanity_buffer(vector["length"]), vector["seed"])
    assert got == int(vector["xxh64"], 16)


def test_xxh64_against_xxhash_package(backend: ModuleType) -> None:
    rng = np.random.default_rng(1)
    buffer = rng.integers(0, 256, 1100, np.uint8).tobytes()
    for length in [*range(0, 140), 255, 256, 257, 1023, 1100]:
        for seed in (0, 1, 2**32, 2**63, 2**64 - 1):
            data_ = buffer[:length]
            assert backend.xxh64(data_, seed) == xxhash.xxh64_intdigest(data_, seed), (length, seed)


def test_hash_rows_against_xxhash_package(backend: ModuleType) -> None:
    r = data.generate(2_000, 50, seed=3)
    ids, stamps, kwh = r.as_lists()
    want = [
        xxhash.xxh64_intdigest(struct.pack("<Iqd", *row), 12345) for row in zip(ids, stamps, kwh)
    ]
    got = backend.hash_rows(r.device_id, r.timestamp, r.kwh, 12345)
    assert [int(h) for h in got] == want


def test_duplicates_against_pandas(backend: ModuleType) -> None:
    r = data.generate(20_000, 100, seed=5, duplicate_share=0.05)
    want = pd.DataFrame({"d": r.device_id, "t": r.timestamp}).duplicated(keep="first")
    got = np.asarray(backend.duplicates(r.device_id, r.timestamp), np.bool_)
    assert want.sum() > 500  # the data really has duplicates
    np.testing.assert_array_equal(got, want.to_numpy())


def test_factorize_against_pandas(backend: ModuleType) -> None:
    r = data.with_sparse_ids(data.generate(20_000, 300, seed=5), seed=5)
    want_codes, want_uniques = pd.factorize(r.device_id, sort=False)
    codes, uniques = backend.factorize(r.device_id)
    assert len(want_uniques) == 300  # sparse ids: any uint32, not 0..299
    np.testing.assert_array_equal(np.asarray(codes, np.int64), want_codes)
    np.testing.assert_array_equal(np.asarray(uniques, np.int64), want_uniques)


def test_aggregate_against_numpy(backend: ModuleType) -> None:
    """Per device, computed another way: a stable sort into groups, then an
    in-order cumulative sum (sequential, like the contract's sum)."""
    r = data.generate(20_000, 300, seed=9, missing_share=0.05)
    r.kwh[r.device_id == 17] = np.nan  # a device with no valid reading
    count, total, minimum, maximum = (
        np.asarray(a)
        for a in backend.aggregate(
            r.device_id,
            r.kwh,
            r.n_devices + 5,  # 5 devices that never report
        )
    )
    valid = ~np.isnan(r.kwh)
    order = np.argsort(r.device_id[valid], kind="stable")
    ids, values = r.device_id[valid][order], r.kwh[valid][order]
    bounds = np.searchsorted(ids, np.arange(r.n_devices + 6))
    for device in range(r.n_devices + 5):
        group = values[bounds[device] : bounds[device + 1]]
        assert count[device] == len(group)
        if len(group):
            assert total[device] == np.cumsum(group)[-1]
            assert minimum[device] == group.min() and maximum[device] == group.max()
        else:
            assert total[device] == 0.0
            assert np.isnan(minimum[device]) and np.isnan(maximum[device])
