"""hotpath-wasmer-runner (wasm/wasmer-runner/), the native Wasmer rows of the py2wasm runs:
when it counts as built or stale, and, when it is built, what it does with a small WASI
program compiled here by clang-16 (wasm/setup-debian.sh): a mapped folder read and
written, the arguments, the exit status, the timings line. The py2wasm module itself
runs under it in bench/ (the py2wasm-wasmer rows)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hotpath.runs import py2wasm, runtimes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("HOTPATH_WASMER_RUNNER", raising=False)
    monkeypatch.setenv("HOTPATH_WASMER_RUNNER_TARGET", str(tmp_path))
    return tmp_path


def test_runner_missing_then_built_then_stale(target: Path) -> None:
    assert py2wasm.wasmer_runner() == target / "wasmer-runner" / "hotpath-wasmer-runner"
    assert "not built" in py2wasm.wasmer_runner_missing()
    assert py2wasm.WASMER_RUNNER_SETUP in py2wasm.wasmer_runner_missing()
    for engine in py2wasm.WASMER_COMPILERS:
        assert "hotpath-wasmer-runner is not built" in py2wasm.why_unavailable(engine)
        assert runtimes.BY_NAME[f"py2wasm-{engine}"].command() is None
    runner = py2wasm.wasmer_runner()
    runner.parent.mkdir(parents=True)
    runner.write_bytes(b"")
    newest = max((ROOT / name).stat().st_mtime for name in py2wasm.WASMER_RUNNER_SOURCES)
    os.utime(runner, (newest + 10, newest + 10))
    assert py2wasm.wasmer_runner_missing() == ""
    os.utime(runner, (newest - 10, newest - 10))
    assert "older than" in py2wasm.wasmer_runner_missing()


def test_sources_of_the_runner_exist() -> None:
    assert all((ROOT / name).is_file() for name in py2wasm.WASMER_RUNNER_SOURCES)
    assert (ROOT / "wasm" / "wasmer-runner" / "build.sh").is_file()


# -- the built runner on a small WASI program ----------------------------------------------

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "fail") == 0) return 3;
    FILE *in = fopen(argv[1], "r");
    if (!in) { perror(argv[1]); return 2; }
    char text[64] = {0};
    fread(text, 1, sizeof text - 1, in);
    fclose(in);
    FILE *out = fopen(argv[2], "w");
    if (!out) { perror(argv[2]); return 2; }
    fprintf(out, "copied %s", text);
    fclose(out);
    printf("{\"args\": %d, \"read\": \"%s\"}\n", argc - 1, text);
    return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if py2wasm.wasmer_runner_missing():
        pytest.skip(py2wasm.wasmer_runner_missing())
    clang = shutil.which("clang-16")
    if clang is None or not Path("/usr/lib/wasm32-wasi/libc.a").is_file():
        pytest.skip("no clang-16 with wasi-libc (bash wasm/setup-debian.sh)")
    folder = tmp_path_factory.mktemp("wasi")
    (folder / "copy.c").write_text(PROGRAM)
    module = folder / "copy.wasm"
    subprocess.run(
        [clang, "--target=wasm32-wasi", "-O1", str(folder / "copy.c"), "-o", str(module)],
        check=True,
        capture_output=True,
    )
    return module


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(py2wasm.wasmer_runner()), *argv], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("compiler", sorted(set(py2wasm.WASMER_COMPILERS.values())))
def test_runner_maps_a_folder_and_reports_its_costs(
    compiler: str, program: Path, tmp_path: Path
) -> None:
    (tmp_path / "in.txt").write_text("kWh")
    done = _run(
        f"--compiler={compiler}",
        str(program),
        f"/data={tmp_path}",
        "--",
        "/data/in.txt",
        "/data/out.txt",
    )
    assert done.returncode == 0, done.stderr
    guest, runner = [line for line in done.stdout.splitlines() if line.strip()][-2:]
    assert json.loads(guest) == {"args": 2, "read": "kWh"}
    assert (tmp_path / "out.txt").read_text() == "copied kWh"  # written through the mapping
    costs = json.loads(runner)
    assert costs["engine"].startswith("Wasmer 7.")
    assert compiler.capitalize() in costs["engine"]
    for key in ("compile_seconds", "instantiate_seconds", "run_seconds"):
        assert costs[key] >= 0.0
    assert costs["entered_at"] > 0


def test_runner_passes_the_guest_exit_status_and_sandboxes(program: Path, tmp_path: Path) -> None:
    done = _run(str(program), "--", "fail")
    assert done.returncode == 3 and "exited 3" in done.stderr
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    done = _run(str(program), "--", str(outside), "/tmp/x.txt")  # nothing mapped: not visible
    assert done.returncode == 2


def test_runner_rejects_bad_usage(program: Path) -> None:
    assert "unknown compiler" in _run("--compiler=llvm", str(program)).stderr
    assert "GUEST=HOST" in _run(str(program), "nomapping").stderr
    assert _run("--version").stdout.startswith("hotpath-wasmer-runner: Wasmer 7.")


def test_reported_versions_are_the_locked_ones() -> None:
    """The runner names its Wasmer and wasmer-wasix versions: they must be Cargo.lock's."""
    import re

    lock = (ROOT / "Cargo.lock").read_text()
    source = (ROOT / "wasm" / "wasmer-runner" / "src" / "main.rs").read_text()
    manifest = (ROOT / "wasm" / "wasmer-runner" / "Cargo.toml").read_text()
    for crate, constant in (("wasmer", "WASMER_VERSION"), ("wasmer-wasix", "WASIX_VERSION")):
        (locked,) = re.findall(rf'name = "{crate}"\nversion = "([^"]+)"', lock)
        assert f'const {constant}: &str = "{locked}";' in source, crate
        assert f'{crate} = {{ version = "={locked}"' in manifest, crate


def test_the_pypi_wasmer_row_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "wasmer_sdk" else real(name)
    )
    assert '".[wasmer]"' in py2wasm.why_unavailable("wasmer")
    assert runtimes.BY_NAME["py2wasm-wasmer"].command() is None
