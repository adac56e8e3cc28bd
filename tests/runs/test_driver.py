"""The cross-interpreter driver and the runtime rows built from its reports."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import numpy_impl
import python_ref
from hotpath import data
from hotpath.runs import driver, runtimes


@pytest.fixture(scope="module")
def dataset(
    tmp_path_factory: pytest.TempPathFactory, dataset_files: Callable[..., tuple]
) -> tuple[data.Readings, Path, Path]:
    return dataset_files(tmp_path_factory.mktemp("driver"), 3_000, 40, 11, 41)


def test_checksum_ignores_container_type(dataset: tuple) -> None:
    """A list from python_ref and an array from another backend fingerprint alike."""
    r = dataset[0]
    ids, stamps, kwh = r.as_lists()
    for kernel, ref, other in (
        ("aggregate", python_ref.aggregate(ids, kwh, 40), numpy_impl.aggregate(ids, kwh, 40)),
        ("duplicates", python_ref.duplicates(ids, stamps), numpy_impl.duplicates(ids, stamps)),
        (
            "hash_rows",
            python_ref.hash_rows(ids, stamps, kwh),
            numpy_impl.hash_rows(ids, stamps, kwh),
        ),
        ("factorize", python_ref.factorize(ids), numpy_impl.factorize(ids)),
    ):
        assert driver.checksum(kernel, ref) == driver.checksum(kernel, other), kernel


def test_checksum_sees_a_changed_result(dataset: tuple) -> None:
    ids, stamps, _ = dataset[0].as_lists()
    marks = python_ref.duplicates(ids, stamps)
    flipped = [not marks[0], *marks[1:]]
    assert driver.checksum("duplicates", marks) != driver.checksum("duplicates", flipped)
    codes, uniques = python_ref.factorize(ids)
    swapped = uniques[1:2] + uniques[:1] + uniques[2:]
    assert driver.checksum("factorize", (codes, uniques)) != driver.checksum(
        "factorize", (codes, swapped)
    )


def test_driver_report(dataset: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    r, csv, buffer = dataset
    argv = [str(csv), "--buffer", str(buffer), "--iterations", "3", "--devices", "40"]
    assert driver.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == len(r) and report["buffer_bytes"] == 256 * 41
    assert report["interpreter"]["implementation"] == "CPython"
    ids, stamps, kwh = r.as_lists()
    want = {
        "aggregate": python_ref.aggregate(ids, kwh, 40),
        "duplicates": python_ref.duplicates(ids, stamps),
        "hash_rows": python_ref.hash_rows(ids, stamps, kwh),
        "xxh64": python_ref.xxh64(buffer.read_bytes()),
        "factorize": python_ref.factorize(ids),
    }
    for kernel, result in want.items():
        timing = report["kernels"][kernel]
        assert len(timing["seconds"]) == 3 and all(t > 0 for t in timing["seconds"])
        assert timing["checksums"] == [driver.checksum(kernel, result)] * 3


def test_driver_rejects_bad_arguments(dataset: tuple) -> None:
    with pytest.raises(SystemExit):
        driver.main([str(dataset[1]), "--kernels", "sort"])
    with pytest.raises(SystemExit):
        driver.main([str(dataset[1])])  # xxh64 without --buffer


def test_runtime_rows_flag_wrong_checksums() -> None:
    report = {
        "interpreter": {"implementation": "PyPy"},
        "load_seconds": 0.1,
        "kernels": {
            "aggregate": {"seconds": [5.0, 1.0, 1.2, 1.1, 0.9], "checksums": ["aa"] * 5},
            "xxh64": {"seconds": [2.0, 1.0], "checksums": ["bb", "bb"]},
        },
    }
    runtime = runtimes.BY_NAME["cpython"]
    found = runtimes.rows(
        runtime, report, {"aggregate": "aa", "xxh64": "cc"}, {"aggregate": 1000, "xxh64": 2**20}
    )
    by_kernel = {row["extra_info"]["kernel"]: row for row in found}
    aggregate = by_kernel["aggregate"]
    assert aggregate["extra_info"]["parity"] == "ok"
    assert aggregate["extra_info"]["first_call_s"] == 5.0
    assert aggregate["stats"]["median"] == 1.1  # steady state: 1.2, 1.1, 0.9
    assert aggregate["stats"]["rounds"] == 3
    assert by_kernel["xxh64"]["extra_info"]["parity"].startswith("mismatch")
    assert by_kernel["xxh64"]["group"] == "xxh64 · 1MiB"


def test_every_calls_checksum_is_checked_not_only_the_last() -> None:
    assert runtimes.parity(["aa", "aa", "aa"], "aa") == "ok"
    assert runtimes.parity(["aa", "zz", "aa", "aa"], "aa") == (
        "mismatch: call 1 of 4: checksum zz != python_ref's aa (1 of 4 calls differ)"
    )
    assert runtimes.parity([], "aa").startswith("mismatch")


def test_checksum_is_bit_exact_and_refuses_what_the_contract_does_not_return(
    dataset: tuple,
) -> None:
    ids, stamps, kwh = dataset[0].as_lists()
    hashes = python_ref.hash_rows(ids[:50], stamps[:50], kwh[:50])
    right = driver.checksum("hash_rows", hashes)
    # a hash >= 2**64 is wrong, not the same value mod 2**64
    too_big = driver.checksum("hash_rows", [hashes[0] + 2**64, *hashes[1:]])
    assert too_big != right and too_big.startswith(driver.INVALID)
    assert driver.checksum("hash_rows", [-1, *hashes[1:]]).startswith(driver.INVALID)
    # hash_rows hashes kwh's bits: NaN payloads give other hashes, so other checksums
    quiet, payload = struct.unpack(
        "<2d", struct.pack("<2Q", 0x7FF8000000000000, 0x7FF8000000000001)
    )
    assert driver.checksum("hash_rows", python_ref.hash_rows([1], [2], [quiet])) != (
        driver.checksum("hash_rows", python_ref.hash_rows([1], [2], [payload]))
    )
    # a flag that is not a bool, a count that is not an integer, a float xxh64
    marks = python_ref.duplicates(ids, stamps)
    assert driver.checksum("duplicates", [2, *marks[1:]]) != (
        driver.checksum("duplicates", [True, *marks[1:]])
    )
    count, total, minimum, maximum = python_ref.aggregate(ids, kwh, 40)
    floated = driver.checksum("aggregate", ([float(c) for c in count], total, minimum, maximum))
    assert floated.startswith(driver.INVALID)
    assert driver.checksum("xxh64", 1.0).startswith(driver.INVALID)
    assert driver.checksum("xxh64", 2**64).startswith(driver.INVALID)
    # aggregate: bits (the sign of zero counts); NaN only by being NaN, as the contract says
    zero = driver.checksum("aggregate", ([0], [0.0], [quiet], [quiet]))
    assert driver.checksum("aggregate", ([0], [-0.0], [quiet], [quiet])) != zero
    assert driver.checksum("aggregate", ([0], [0.0], [payload], [payload])) == zero


def test_cpython_runtime_end_to_end(dataset: tuple) -> None:
    _, csv, buffer = dataset
    runtime = runtimes.BY_NAME["cpython"]
    report = runtimes.execute(
        runtime,
        [str(csv), "--buffer", str(buffer), "--iterations", "1", "--kernels", "duplicates,xxh64"],
    )
    assert set(report["kernels"]) == {"duplicates", "xxh64"}
    assert np.isfinite(report["load_seconds"])


def test_unavailable_runtime_says_why() -> None:
    ghost = runtimes.Runtime("ghost", "interpreter", "none", lambda: None, "not installed here")
    assert ghost.available() == "not installed here"
    with pytest.raises(runtimes.RuntimeFailed, match="not installed"):
        runtimes.execute(ghost, [])
