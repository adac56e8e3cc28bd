"""Every backend's raw kernels, called directly, refuse bad arguments with a Python exception.

hotpath.contract hands the raw kernels only canonical arrays; these tests call
them without it (hotpath.rawchecks states the rule). A bad call that crashes
the interpreter must fail its test, not end the run, so the calls are made in
a child process (raw_faults.py) and only their outcomes come back here.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_backend, selected
from raw_faults import FAULTS, misaligned

from hotpath import backends, data, parity

WITH_RAW = selected(backend.name for backend in backends.BACKENDS if backend.raw)
CHILD = Path(__file__).with_name("raw_faults.py")


def _death(returncode: int, stderr: str) -> str:
    """How the child ended, with faulthandler's innermost frame or the last line it wrote."""
    how = (
        f"the process died of {signal.Signals(-returncode).name}"
        if returncode < 0
        else f"the process exited with status {returncode}"
    )
    lines = stderr.strip().splitlines()
    frames = [line.strip() for line in lines if line.startswith("  File ")]
    return f"{how}: {(frames or lines or [''])[0]}"


@cache
def _outcomes(module: str) -> dict[str, dict]:
    """Each fault's outcome in a child process; a call that kills the child is recorded as
    its death, and the next child starts after it."""
    names, outcomes = list(FAULTS), {}
    while len(outcomes) < len(names):
        done = subprocess.run(
            [sys.executable, "-X", "faulthandler", str(CHILD), module, str(len(outcomes))],
            capture_output=True,
            text=True,
            timeout=300,
        )
        for line in done.stdout.splitlines():
            outcome = json.loads(line)
            outcomes[outcome.pop("fault")] = outcome
        if done.returncode != 0 and len(outcomes) < len(names):
            outcomes[names[len(outcomes)]] = {"died": _death(done.returncode, done.stderr)}
    return outcomes


def test_every_backend_but_the_reference_names_its_raw_kernels() -> None:
    assert [b.name for b in backends.BACKENDS if not b.raw] == [backends.REFERENCE]


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("name", WITH_RAW)
def test_bad_call_raises(name: str, fault: str) -> None:
    load_backend(name)  # skips an unavailable optional backend, with the reason
    outcome = _outcomes(backends.get(name).raw)[fault]
    expected = FAULTS[fault]
    assert "died" not in outcome, outcome["died"]
    wanted = " or ".join(error.__name__ for error in expected.raises)
    assert outcome["raised"], f"accepted; expected {wanted}"
    assert outcome["raised"] in {error.__name__ for error in expected.raises}, outcome
    assert re.search(expected.match, outcome["message"]), outcome["message"]


@pytest.mark.parametrize("kernel", backends.KERNELS)
def test_public_functions_copy_misaligned_input(
    accelerated: ModuleType, reference: ModuleType, kernel: str
) -> None:
    # The raw kernels refuse misaligned arrays; the contract copies them to aligned ones.
    rows = data.generate(500, 20)
    ids, stamps, kwh = (misaligned(c) for c in (rows.device_id, rows.timestamp, rows.kwh))
    assert not (ids.flags.aligned or stamps.flags.aligned or kwh.flags.aligned)
    columns, rest = {
        "aggregate": ((ids, kwh), (rows.n_devices,)),
        "duplicates": ((ids, stamps), ()),
        "factorize": ((ids,), ()),
        "xxh64": ((kwh,), ()),
        "hash_rows": ((ids, stamps, kwh), (7,)),
    }[kernel]
    got = getattr(accelerated, kernel)(*columns, *rest)
    # python_ref on plain Python values: lists, and for xxh64 the bytes themselves
    plain = [c.tobytes() if kernel == "xxh64" else c.tolist() for c in columns]
    want = getattr(reference, kernel)(*plain, *rest)
    exact = backends.get(accelerated.__name__).exact
    assert parity.mismatch(kernel, got, want, exact=exact) is None
