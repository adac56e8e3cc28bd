"""Hostile keys: every backend's hash tables give the right answer, and stay linear, on keys
crafted to collide (issue 12). No timings: the tables' own probe counts and fallbacks say.

The key is fixed by HOTPATH_HASH_SEED (tests/conftest.py), and the attacks are crafted
against whichever key is in force (hotpath.crafted), so they collide in every backend's
table -- provided its hash is hotpath.hashkey.keyed_hash, which the first test checks.
"""

from __future__ import annotations

import importlib
import os
import random
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest
from conftest import load_backend, selected
from hypothesis import given
from hypothesis import strategies as st

import python_ref
from hotpath import backends, crafted, data, hashkey, parity
from hotpath.hashkey import HashKey

TABLES = selected(b.name for b in backends.BACKENDS if b.hash_tables)
RUN_LIMIT = 128  # the bound, as every backend states it (cffi_ext/src/hotpath_kernels.c)


def budget(rows: int) -> int:
    return 4 * rows + 1024


def _backend(name: str) -> tuple[ModuleType, ModuleType]:
    module = load_backend(name)  # skips an unavailable optional backend, with the reason
    return module, importlib.import_module(backends.get(name).raw)


@pytest.fixture(params=TABLES)
def tables(request: pytest.FixtureRequest) -> tuple[ModuleType, ModuleType]:
    """(public module, raw module) of every backend with hash tables of its own."""
    return _backend(request.param)


def _duplicates(raw: ModuleType, ids: np.ndarray, stamps: np.ndarray, key: HashKey) -> tuple:
    out = np.empty(len(ids), np.bool_)
    probes, fallbacks = raw.duplicates_into(ids, stamps, key, out)
    return out, probes, fallbacks


def _factorize(raw: ModuleType, ids: np.ndarray, key: HashKey) -> tuple:
    codes, uniques = np.empty(len(ids), np.uint32), np.empty(len(ids), np.uint32)
    found, probes, fallbacks = raw.factorize_into(ids, key, codes, uniques)
    return (codes, uniques[:found]), probes, fallbacks


def _table_bits(rows: int) -> int:
    """log2 of a factorize table's slots: the smallest power of two >= 2 * rows, at least 16."""
    return max(4, (2 * rows - 1).bit_length())


KEYS = [hashkey.KEY, HashKey(0, 0), HashKey(2**64 - 1, 2**64 - 1), HashKey(12345, 2**63)]


# -- the hash and its key --------------------------------------------------------------------


def test_the_registry_knows_which_backends_have_tables() -> None:
    for backend in backends.BACKENDS:
        if backends.status(backend.name).available and backend.raw:
            raw = importlib.import_module(backend.raw)
            assert hasattr(raw, "keyed_hash") == backend.hash_tables, backend.name


@pytest.mark.parametrize("key", KEYS, ids=["process", "zero", "ones", "mixed"])
def test_keyed_hash_matches_the_mirror(tables: tuple, key: HashKey) -> None:
    _, raw = tables
    rng = random.Random(7)
    rows = [(0, 0), (2**32 - 1, -1), (2**32 - 1, 2**63 - 1), (0, -(2**63)), (key.k0 % 2**32, 0)]
    rows += [(rng.getrandbits(32), rng.randrange(-(2**63), 2**63)) for _ in range(300)]
    for device, stamp in rows:
        assert raw.keyed_hash(device, stamp, key) == hashkey.keyed_hash(device, stamp, key)
    ids = np.array([r[0] for r in rows], np.uint32)
    stamps = np.array([r[1] for r in rows], np.int64)
    vectorized = crafted.keyed_hashes(ids, stamps, key)  # what the crafting uses
    assert vectorized.tolist() == [hashkey.keyed_hash(d, t, key) for d, t in rows]


def _key_in_a_child(seed: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != hashkey.ENV}
    if seed is not None:
        env[hashkey.ENV] = seed
    code = "from hotpath import hashkey; print(hashkey.KEY.k0, hashkey.KEY.k1, repr(hashkey.KEY))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_the_key_comes_from_the_environment_or_the_os() -> None:
    fixed = [_key_in_a_child("42").stdout.split() for _ in range(2)]
    want = hashkey.from_seed(42)
    assert fixed[0] == fixed[1] == [str(want.k0), str(want.k1), "HashKey(<secret>)"]
    drawn = {_key_in_a_child(seed).stdout for seed in (None, "random", None)}
    assert len(drawn) == 3  # os.urandom, once per process
    bad = _key_in_a_child("twelve")
    assert bad.returncode != 0 and "HOTPATH_HASH_SEED must be an integer" in bad.stderr
    assert "2**64" in _key_in_a_child(str(2**64)).stderr
    assert hashkey.KEY == hashkey.from_seed(int(os.environ[hashkey.ENV], 0))  # this run's


def test_results_never_depend_on_the_key(tables: tuple, readings: data.Readings) -> None:
    _, raw = tables
    r = readings
    answers = set()
    for key in KEYS:
        marks = _duplicates(raw, r.device_id, r.timestamp, key)[0]
        codes, uniques = _factorize(raw, r.device_id, key)[0]
        answers.add((marks.tobytes(), codes.tobytes(), uniques.tobytes()))
    assert len(answers) == 1


# -- crafted against the key in force: the fallback engages, the answer stays right ----------


def _shuffled_with_repeats(ids: np.ndarray, stamps: np.ndarray, repeats: int, seed: int):
    """The rows, plus ``repeats`` copies of some of them, in a random order (so that first
    occurrences are decided by the order, and some duplicates come early)."""
    rng = np.random.default_rng(seed)
    picks = np.concatenate([np.arange(len(ids)), rng.integers(0, len(ids), repeats)])
    order = picks[rng.permutation(len(picks))]
    return ids[order], stamps[order]


def _changes(module: ModuleType, kernel: str, call) -> tuple[object, dict[str, int]]:
    before = module.stats()[kernel]
    result = call()
    after = module.stats()[kernel]
    return result, {name: after[name] - before[name] for name in after}


def test_duplicates_of_one_long_chain(tables: tuple) -> None:
    """Every row has the same keyed hash: one probe chain. The first row to pass RUN_LIMIT
    occupied slots gives the table up; the sort answers. Timestamps of both signs."""
    module, raw = tables
    key = hashkey.KEY
    low = crafted.against_known_key(key, 200)
    high = crafted.against_known_key(key, 200, first=2**32 - 200)  # negative timestamps
    ids, stamps = (np.concatenate(pair) for pair in zip(low, high))
    ids, stamps = _shuffled_with_repeats(ids, stamps, 300, seed=1)
    want = python_ref.duplicates(ids.tolist(), stamps.tolist())
    assert sum(want) == 300  # 400 distinct rows, 700 in all
    got, change = _changes(module, "duplicates", lambda: module.duplicates(ids, stamps))
    assert parity.mismatch("duplicates", got, want) is None
    assert change["fallbacks"] == 1 and change["calls"] == 1
    # An explicitly given key: the same attack against it.
    other = HashKey(0xDEADBEEF12345678, 99)
    ids, stamps = _shuffled_with_repeats(*crafted.against_known_key(other, 400), 300, seed=2)
    out, probes, fallbacks = _duplicates(raw, ids, stamps, other)
    assert parity.mismatch("duplicates", out, python_ref.duplicates(ids, stamps)) is None
    assert fallbacks == 1 and probes <= budget(len(ids)) + RUN_LIMIT


def test_duplicates_of_deep_lookups(tables: tuple) -> None:
    """A chain shorter than RUN_LIMIT, then many lookups of its last key: no single row passes
    the run limit, all of them together pass the budget."""
    _, raw = tables
    key = hashkey.KEY
    ids, stamps = crafted.against_known_key(key, 100)
    last = np.full(1500, 99)
    ids, stamps = ids[np.r_[np.arange(100), last]], stamps[np.r_[np.arange(100), last]]
    out, probes, fallbacks = _duplicates(raw, ids, stamps, key)
    assert parity.mismatch("duplicates", out, python_ref.duplicates(ids, stamps)) is None
    assert fallbacks == 1
    assert probes > budget(len(ids))  # the budget, not the run limit, gave the table up


def test_duplicates_sorts_only_what_it_must(tables: tuple, readings: data.Readings) -> None:
    """Crafted rows among ordinary ones: the answer is right, and one table (cffi_ext and
    wasm_ext: the one partition the crafted rows share) is sorted."""
    _, raw = tables
    key = hashkey.KEY
    bad_ids, bad_stamps = crafted.against_known_key(key, 500)
    ids = np.concatenate([readings.device_id[:20_000], bad_ids, readings.device_id[:100]])
    stamps = np.concatenate([readings.timestamp[:20_000], bad_stamps, readings.timestamp[:100]])
    out, _, fallbacks = _duplicates(raw, ids, stamps, key)
    assert parity.mismatch("duplicates", out, python_ref.duplicates(ids, stamps)) is None
    assert fallbacks == 1


def test_duplicates_of_mostly_crafted_rows(tables: tuple, readings: data.Readings) -> None:
    """Half the rows in one chain: in cffi_ext and wasm_ext their partition holds far more than
    its share (over 4x + 1024 rows), so it is sorted without a table being built for it."""
    _, raw = tables
    key = hashkey.KEY
    bad_ids, bad_stamps = _shuffled_with_repeats(*crafted.against_known_key(key, 15_000), 5000, 5)
    ids = np.concatenate([bad_ids, readings.device_id[:20_000]])
    stamps = np.concatenate([bad_stamps, readings.timestamp[:20_000]])
    order = np.random.default_rng(6).permutation(len(ids))
    ids, stamps = ids[order], stamps[order]
    out, probes, fallbacks = _duplicates(raw, ids, stamps, key)
    assert parity.mismatch("duplicates", out, python_ref.duplicates(ids, stamps)) is None
    assert fallbacks == 1 and probes <= budget(len(ids))


@pytest.mark.parametrize("spread", [1, 0x9E3779B1], ids=["consecutive", "all 32 bits"])
def test_duplicates_of_a_flood(tables: tuple, spread: int) -> None:
    """300,000 rows in one chain: the packed sort of the fallback, past the size where cffi_ext
    sorts by the top digit first (2**18 rows), with 2 digits (consecutive high halves) or 4
    (high halves over all 32 bits); a repeated row and one ordinary row among them."""
    _, raw = tables
    key = hashkey.KEY
    ids, stamps = crafted.against_known_key(key, 200_000)
    high = (np.arange(200_000, dtype=np.uint64) * np.uint64(spread)) & np.uint64(0xFFFFFFFF)
    stamps = (stamps.view(np.uint64) & np.uint64(0xFFFFFFFF)) | (high << np.uint64(32))
    ids, stamps = _shuffled_with_repeats(ids, stamps.view(np.int64), 100_000, seed=8)
    out, _, fallbacks = _duplicates(raw, ids, stamps, key)
    assert parity.mismatch("duplicates", out, python_ref.duplicates(ids, stamps)) is None
    assert fallbacks == 1


def test_factorize_of_colliding_ids(tables: tuple) -> None:
    """Distinct ids that share a slot (brute-forced for the key): one chain, so the run limit
    gives the table up; then a short chain looked up many times: the budget does."""
    module, raw = tables
    key = hashkey.KEY
    rows = 400
    chain = crafted.ids_against_known_key(key, 200, _table_bits(rows))
    ids = chain[np.random.default_rng(3).integers(0, 200, rows)]
    ids[:200] = chain  # every crafted id, in a shuffled order after
    np.random.default_rng(4).shuffle(ids)
    got, change = _changes(module, "factorize", lambda: module.factorize(ids))
    assert parity.mismatch("factorize", got, python_ref.factorize(ids.tolist())) is None
    assert change["fallbacks"] == 1

    rows = 100 + 2000
    chain = crafted.ids_against_known_key(key, 100, _table_bits(rows))
    ids = np.concatenate([chain, np.full(2000, chain[-1])])
    got, probes, fallbacks = _factorize(raw, ids, key)
    assert parity.mismatch("factorize", got, python_ref.factorize(ids.tolist())) is None
    assert fallbacks == 1 and probes > budget(rows)


# The fallback's sort on arbitrary rows: hypothesis draws them, crafted rows force the sort.
_ROW = st.tuples(
    st.integers(0, 2**32 - 1) | st.sampled_from([0, 2**32 - 1]),
    st.integers(-(2**63), 2**63 - 1) | st.sampled_from([-(2**63), -1, 0, 2**63 - 1]),
)


@given(rows=st.lists(_ROW, max_size=80), data=st.data())
def test_the_fallback_sort_is_exact(tables: tuple, rows: list, data: st.DataObject) -> None:
    _, raw = tables
    key = hashkey.KEY
    rows += data.draw(st.lists(st.sampled_from(rows), max_size=20)) if rows else []
    ids, stamps = crafted.against_known_key(key, 300)
    ids = np.concatenate([np.array([r[0] for r in rows], np.uint32), ids])
    stamps = np.concatenate([np.array([r[1] for r in rows], np.int64), stamps])
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    order = rng.permutation(len(ids))
    ids, stamps = ids[order], stamps[order]
    out, _, fallbacks = _duplicates(raw, ids, stamps, key)
    assert fallbacks == 1
    assert parity.mismatch("duplicates", out, python_ref.duplicates(ids, stamps)) is None

    total = 512  # a fixed length: the colliding ids are found once, for its table's size
    chain = _chain(key, _table_bits(total))
    drawn = np.array([r[0] for r in rows], np.uint32)
    ids = np.concatenate([drawn, chain, np.full(total - len(chain) - len(drawn), chain[0])])
    ids = ids[rng.permutation(total)]
    got, _, fallbacks = _factorize(raw, ids, key)
    assert fallbacks == 1
    assert parity.mismatch("factorize", got, python_ref.factorize(ids.tolist())) is None


_CHAINS: dict[tuple, np.ndarray] = {}


def _chain(key: HashKey, bits: int) -> np.ndarray:
    if (key, bits) not in _CHAINS:
        _CHAINS[key, bits] = crafted.ids_against_known_key(key, 200, bits)
    return _CHAINS[key, bits]


# -- crafted against the old, unkeyed hashes: ordinary keys now ------------------------------


@pytest.mark.parametrize("against", list(crafted.OLD_HASHES))
def test_keys_crafted_against_the_old_hashes_are_ordinary(tables: tuple, against: str) -> None:
    """Issue 12's attack on each old hash: all its rows once shared one hash value. Under the
    keyed hash they probe as random keys do (~0.5 occupied slots per row at load 1/2, ~0.2 in
    cffi_ext's partitions), so no table comes near the bound."""
    module, raw = tables
    ids, stamps = crafted.against_old_hashes(against, 20_000)
    got, change = _changes(module, "duplicates", lambda: module.duplicates(ids, stamps))
    assert not got.any()  # distinct keys
    assert change["fallbacks"] == 0 and change["probes"] <= len(ids)
    out, probes, fallbacks = _duplicates(raw, ids, stamps, HashKey(3, 4))
    assert not out.any() and fallbacks == 0 and probes <= len(ids)
