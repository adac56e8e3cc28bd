"""Fixtures shared by the suite: every registered backend, and the reference data."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from hotpath import backends, data

# Native code and Numba compile on first use: no per-example deadline. CI runs
# fewer examples; HYPOTHESIS_PROFILE=thorough runs many more.
settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    # the backend fixture is a module: sharing it across examples is safe
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PARITY_SIZE = 100_000  # the default dataset


def load_backend(name: str) -> ModuleType:
    found = backends.status(name)
    if not found.available:
        message = f"backend {name} is unavailable: {found.reason}"
        if found.backend.optional:  # its toolchain is not part of the base set-up
            pytest.skip(message)
        pytest.fail(message)
    return found.module


@pytest.fixture(params=backends.NAMES)
def backend(request: pytest.FixtureRequest) -> ModuleType:
    """Every registered backend, the reference included."""
    return load_backend(request.param)


@pytest.fixture(params=[name for name in backends.NAMES if name != backends.REFERENCE])
def accelerated(request: pytest.FixtureRequest) -> ModuleType:
    """Every backend except the reference it is compared with."""
    return load_backend(request.param)


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    return load_backend(backends.REFERENCE)


@pytest.fixture(scope="session")
def readings() -> data.Readings:
    return data.generate(PARITY_SIZE)
