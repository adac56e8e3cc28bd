"""The content-addressed cache: what it serves, what it re-parses, and that it never changes
the answer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hotpath.pipeline import Options, run
from hotpath.pipeline.report import results_json


@pytest.fixture
def folder(generated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(generated, copy)
    return copy


def test_second_run_hits_every_file_and_the_result(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = run([folder], options=Options(cache=cache))
    warm = run([folder], options=Options(cache=cache))
    n = len(cold.files)
    assert (cold.cache["hits"], cold.cache["misses"], cold.cache["result"]) == (0, n, "miss")
    assert (warm.cache["hits"], warm.cache["misses"], warm.cache["result"]) == (n, 0, "hit")
    assert results_json(warm) == results_json(cold)
    assert "dedup" not in warm.timings  # nothing was recomputed


def test_a_changed_file_is_parsed_again_alone(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run([folder], options=Options(cache=cache))
    changed = sorted(folder.glob("*.csv"))[2]
    changed.write_bytes(changed.read_bytes() + b"4000000000,1767225600,1.5\n")
    again = run([folder], options=Options(cache=cache))
    fresh = run([folder], options=Options())
    assert (again.cache["hits"], again.cache["misses"]) == (len(again.files) - 1, 1)
    assert again.cache["result"] == "miss"
    assert results_json(again) == results_json(fresh)


def test_file_cache_alone_and_renamed_files(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run([folder], options=Options(cache=cache, cache_results=False))
    renamed = tmp_path / "renamed"
    folder.rename(renamed)  # same contents, new names: still hits, the report has the new names
    second = run([renamed], options=Options(cache=cache, cache_results=False, workers=2))
    assert second.cache["hits"] == len(second.files) and "result" not in second.cache
    assert second.files == [p.replace(str(folder), str(renamed)) for p in first.files]
    assert second.results()["devices"] == first.results()["devices"]


def test_a_damaged_entry_is_a_miss_and_is_replaced(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    want = run([folder], options=Options(cache=cache, cache_results=False))
    for meta in cache.rglob("meta.json"):
        meta.write_text("{not json")
    damaged = run([folder], options=Options(cache=cache, cache_results=False))
    assert damaged.cache["misses"] == len(damaged.files)
    assert results_json(damaged) == results_json(want)
    repaired = run([folder], options=Options(cache=cache, cache_results=False))
    assert repaired.cache["hits"] == len(repaired.files)


def test_skipped_rejects_come_back_from_the_cache(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_bytes(b"device_id,timestamp,kwh\n1,2,3\n1,x,3\n")
    options = Options(cache=tmp_path / "cache", on_bad_row="skip", cache_results=False)
    first, second = run([data], options=options), run([data], options=options)
    assert second.cache["hits"] == 1
    assert second.rejects == first.rejects and len(first.rejects) == 1
