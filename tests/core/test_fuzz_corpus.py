"""The differential fuzzer's committed corpus (fuzz/corpus/differential), replayed: every
input, decoded by fuzz/differential.py, must give every available backend python_ref's
result or its exception. The inputs the fuzzer kept for their coverage, and any that once
found a bug, so each finding stays a regression test."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fuzz" / "corpus" / "differential"


def _differential() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fuzz_differential", ROOT / "fuzz" / "differential.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def differential() -> object:
    return _differential().Differential()


def test_the_corpus_is_there() -> None:
    assert len(list(CORPUS.iterdir())) >= 50, CORPUS


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CORPUS.iterdir()) if CORPUS.is_dir() else []
)
def test_corpus_input(differential: object, name: str) -> None:
    differential.check((CORPUS / name).read_bytes())  # raises Finding on a disagreement


def test_a_wrong_backend_is_a_finding(differential: object) -> None:
    """The check can fail: a backend whose duplicates flips python_ref's answer is caught."""
    import random

    import numpy as np

    import python_ref
    from hotpath import backends

    fuzz = _differential()
    flipped = type(
        "Flipped",
        (),
        {
            "duplicates": staticmethod(
                lambda ids, stamps: ~np.array(python_ref.duplicates(ids, stamps), bool)
            )
        },
    )
    broken = fuzz.Differential()
    broken.backends = [(backends.get("numpy_impl"), flipped)]
    rng = random.Random(0)
    for _ in range(20_000):  # the first input that decodes to a valid, non-empty duplicates call
        data = bytes(rng.getrandbits(8) for _ in range(64))
        case = broken.decoder.case(data, broken.process_key)
        if case.kernel != "duplicates":
            continue
        try:
            if not len(python_ref.duplicates(*case.args)):
                continue
        except (TypeError, ValueError):
            continue
        with pytest.raises(fuzz.Finding, match=r"numpy_impl\.duplicates"):
            broken.check(data)
        return
    pytest.fail("no valid duplicates input among 20,000 random ones")
