"""The registry lists every backend, and every expected backend is there."""

from __future__ import annotations

import pytest

from hotpath import backends
from hotpath.cli import main


@pytest.mark.parametrize("name", backends.NAMES)
def test_every_backend_is_available(name: str) -> None:
    found = backends.status(name)
    if found.backend.optional and not found.available:
        pytest.skip(f"optional backend {name} is unavailable: {found.reason}")
    assert found.available, f"backend {name} is unavailable: {found.reason}"
    assert found.version, f"{name} reports no toolchain"
    assert set(backends.KERNELS) <= set(dir(found.module))


def test_unavailable_backend_keeps_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = backends.Backend("hotpath_no_such_backend", "nothing", "none")
    monkeypatch.setattr(backends, "BACKENDS", (*backends.BACKENDS, ghost))
    found = backends.status(ghost.name)
    assert not found.available and "ModuleNotFoundError" in found.reason
    with pytest.raises(backends.BackendUnavailable, match="hotpath_no_such_backend"):
        backends.load(ghost.name)


def test_unknown_name() -> None:
    with pytest.raises(KeyError, match="registered"):
        backends.get("fortran_ext")


def test_cli_lists_backends(capsys: pytest.CaptureFixture[str]) -> None:
    # exit status 1 when any backend, optional ones included, is unavailable (CI relies on it)
    everything = all(found.available for found in backends.statuses())
    assert main(["backends"]) == (0 if everything else 1)
    out = capsys.readouterr().out
    assert all(name in out for name in backends.NAMES)


def test_optional_backend_is_skipped_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import load_backend

    ghost = backends.Backend("hotpath_no_such_optional", "nothing", "none", optional=True)
    monkeypatch.setattr(backends, "BACKENDS", (*backends.BACKENDS, ghost))
    with pytest.raises(pytest.skip.Exception, match="ModuleNotFoundError"):
        load_backend(ghost.name)
