"""The OpenMP variants really run on OpenMP: Cython's generated C has its pragmas, each module
links the OpenMP runtime, a team of n threads has n threads, and the kernels split on rows
above the threshold (which tests/core/test_parallel.py's inputs are) -- without -fopenmp,
Cython's prange would compile to a plain loop and every other test would still pass.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_backend

from hotpath import backends, data, hashkey, threads

ROOT = Path(__file__).resolve().parents[2]
OPENMP = [
    b.name for b in backends.BACKENDS if b.name in ("cffi_ext.parallel", "cython_ext.parallel")
]


@pytest.fixture(params=OPENMP)
def raw(request: pytest.FixtureRequest) -> ModuleType:
    load_backend(request.param)
    return importlib.import_module(backends.get(request.param).raw)


def test_a_team_has_the_threads_asked_for(raw: ModuleType) -> None:
    assert [raw.team_size(n) for n in (1, 2, 3)] == [1, 2, 3]


def test_the_module_links_the_openmp_runtime(raw: ModuleType) -> None:
    raw.team_size(2)  # the runtime is loaded with the module; its threads exist now
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("no /proc/self/maps on this platform")
    libraries = set(re.findall(r"\S*lib(?:gomp|omp|iomp5)\S*\.so\S*", maps.read_text()))
    assert libraries, "no OpenMP runtime (libgomp, libomp, libiomp5) mapped in this process"
    assert "OpenMP 20" in raw.BUILD_INFO  # _OPENMP, the version date, at compile time


def test_cythons_generated_c_is_parallel() -> None:
    generated = sorted(ROOT.glob("build/*/cython_ext/parallel/_kernels.c"))
    if not generated:
        pytest.skip("no build tree here (an installed wheel): the pragmas are checked at build")
    text = max(generated, key=lambda path: path.stat().st_mtime).read_text()
    # one `omp parallel` per prange / parallel block: team_size, aggregate, duplicates' three
    # passes, hash_rows
    assert len(re.findall(r"#pragma omp parallel", text)) >= 6
    assert "#pragma omp for" in text
    assert '#error "cython_ext.parallel must be compiled with OpenMP' in text


def test_the_threshold_is_below_the_parallel_tests_inputs(raw: ModuleType) -> None:
    assert raw.MIN_PARALLEL_ROWS <= 30_000  # test_parallel.py's inputs: 30,000 to 60,000 rows


def test_duplicates_partitions_are_found_the_same_way_at_every_thread_count(
    raw: ModuleType,
) -> None:
    """Their tables' probe and fallback counts do not depend on the thread count: the threads
    build the very same partitions (a stable scatter), each table seeing the same rows."""
    r = data.generate(50_000, 300, seed=9)
    seen = set()
    for count in (1, 2, 3, 4):
        out = np.empty(len(r.device_id), np.bool_)
        with threads.using(count):
            probes, fallbacks = raw.duplicates_into(r.device_id, r.timestamp, hashkey.KEY, out)
        if count > 1:
            seen.add((probes, fallbacks, out.tobytes()))
    assert len(seen) == 1


def test_a_bad_id_is_reported_at_its_first_row(raw: ModuleType) -> None:
    """Every thread reads every id: the first bad row is the first, whichever device owns it."""
    r = data.generate(100_000, 50, seed=10)
    ids = r.device_id.copy()
    ids[[70_000, 40_123, 99_999]] = [50, 77, 2**32 - 1]
    outputs = (np.empty(50, np.int64), *(np.empty(50) for _ in range(3)))
    for count in (1, 2, 3):
        with threads.using(count):
            assert raw.aggregate_into(ids, r.kwh, *outputs) == 40_123


def test_thread_setting_is_read_at_every_call(raw: ModuleType, monkeypatch) -> None:
    monkeypatch.setenv(threads.ENV, "0")
    r = data.generate(20_000, 10, seed=11)
    with pytest.raises(ValueError, match="HOTPATH_THREADS"):
        raw.hash_rows_into(r.device_id, r.timestamp, r.kwh, 0, np.empty(20_000, np.uint64))
