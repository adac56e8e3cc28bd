"""The py2wasm rows' own logic: the sandbox's argument rewriting, the build's cache
key, the unavailable-with-a-reason rows, the one-off costs in rows and reports, and
the generator of the signature patch. Fast: nothing here builds or runs a module."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hotpath.reporting import report, rows
from hotpath.runs import py2wasm, runtimes

ROOT = Path(__file__).resolve().parents[2]


# -- the sandbox ---------------------------------------------------------------------------


def test_sandbox_maps_the_dataset_folder_and_rewrites_paths(tmp_path: Path) -> None:
    csv, buffer = tmp_path / "readings.csv", tmp_path / "buffer.bin"
    mapping, args = py2wasm.sandbox(
        [str(csv), "--buffer", str(buffer), "--iterations", "3", "--devices", "40"]
    )
    assert mapping == {"/data": str(tmp_path.resolve())}
    assert args == [
        "/data/readings.csv",
        "--buffer",
        "/data/buffer.bin",
        "--iterations",
        "3",
        "--devices",
        "40",
    ]


def test_sandbox_gives_each_folder_its_own_guest_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mapping, args = py2wasm.sandbox(
        [f"--buffer={tmp_path / 'b' / 'x.bin'}", str(tmp_path / "a" / "r.csv"), "--kernels=xxh64"],
        guest_root="/workspace/data",
    )
    assert mapping == {
        "/workspace/data": str((tmp_path / "b").resolve()),
        "/workspace/data1": str((tmp_path / "a").resolve()),
    }
    assert args == ["--buffer=/workspace/data/x.bin", "/workspace/data1/r.csv", "--kernels=xxh64"]


def test_sandbox_resolves_relative_paths_and_leaves_values_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # "--kernels aggregate": a value, not a path, even though it does not start with "-"
    mapping, args = py2wasm.sandbox(["readings.csv", "--kernels", "aggregate", "--help"])
    assert mapping == {"/data": str(tmp_path.resolve())}
    assert args == ["/data/readings.csv", "--kernels", "aggregate", "--help"]


def test_sandbox_passes_any_options_value_through(tmp_path: Path) -> None:
    """Options the driver may gain later take a value too, in either form."""
    _, args = py2wasm.sandbox(
        ["--steady", "5", "--tolerance=0.1", str(tmp_path / "r.csv"), "--budget", "60"]
    )
    assert args == ["--steady", "5", "--tolerance=0.1", "/data/r.csv", "--budget", "60"]


def test_sandbox_after_double_dash_everything_is_a_path(tmp_path: Path) -> None:
    mapping, args = py2wasm.sandbox(["--", str(tmp_path / "-odd.csv")])
    assert args == ["--", "/data/-odd.csv"] and list(mapping) == ["/data"]


def test_sandbox_rejects_an_option_without_its_value() -> None:
    with pytest.raises(ValueError, match="--buffer"):
        py2wasm.sandbox(["r.csv", "--buffer"])


# -- the cache key -------------------------------------------------------------------------


def _sources(folder: Path) -> list[str]:
    (folder / "pkg").mkdir()
    (folder / "pkg" / "a.py").write_text("A = 1\n")
    (folder / "b.sh").write_text("echo b\n")
    return ["pkg/a.py", "b.sh"]


def test_cache_key_is_stable_and_order_free(tmp_path: Path) -> None:
    names = _sources(tmp_path)
    key = py2wasm.cache_key(tmp_path, names)
    assert len(key) == 16 and int(key, 16) >= 0
    assert py2wasm.cache_key(tmp_path, list(reversed(names))) == key


def test_cache_key_changes_with_any_source(tmp_path: Path) -> None:
    names = _sources(tmp_path)
    key = py2wasm.cache_key(tmp_path, names)
    (tmp_path / "b.sh").write_text("echo c\n")
    changed = py2wasm.cache_key(tmp_path, names)
    assert changed != key
    (tmp_path / "b.sh").rename(tmp_path / "c.sh")  # same bytes, another name
    assert py2wasm.cache_key(tmp_path, ["pkg/a.py", "c.sh"]) != changed
    (tmp_path / "c.sh").unlink()
    assert py2wasm.cache_key(tmp_path, ["pkg/a.py", "c.sh"]) not in (key, changed)


def test_every_source_of_the_module_exists() -> None:
    """A missing file would hash as a marker: the key must cover real files."""
    assert [name for name in py2wasm.SOURCES if not (ROOT / name).is_file()] == []
    assert "hotpath/runs/driver.py" in py2wasm.SOURCES
    assert "wasm/py2wasm/build.sh" in py2wasm.SOURCES


# -- unavailable rows ----------------------------------------------------------------------


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTPATH_PY2WASM_CACHE", str(tmp_path))
    return tmp_path


def test_module_missing_says_what_to_run(empty_cache: Path) -> None:
    assert "not built" in py2wasm.module_missing()
    assert py2wasm.SETUP in py2wasm.module_missing()
    (empty_cache / "driver-0000000000000000.stripped.wasm").write_bytes(b"\0asm")
    assert "stale" in py2wasm.module_missing()
    py2wasm.module_path().write_bytes(b"\0asm")
    assert py2wasm.module_missing() == ""


def test_runtime_rows_are_unavailable_with_the_reason(empty_cache: Path) -> None:
    names = [r.name for r in runtimes.RUNTIMES if r.name.startswith("py2wasm-")]
    assert names == [f"py2wasm-{engine}" for engine in py2wasm.ENGINES]
    for name in names:
        runtime = runtimes.BY_NAME[name]
        assert runtime.command() is None
        why = runtime.available()
        assert why, name
        with pytest.raises(runtimes.RuntimeFailed, match=r"py2wasm|wasmer|Node|wasmtime"):
            runtimes.execute(runtime, [])
    assert "not built" in runtimes.BY_NAME["py2wasm-wasmtime"].available()
    assert "unknown engine" in py2wasm.why_unavailable("v8")


def test_runner_refuses_politely_when_unavailable(
    empty_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert py2wasm.main(["wasmtime", "r.csv"]) == 1
    assert "not built" in capsys.readouterr().err
    assert py2wasm.main(["spidermonkey"]) == 2


# -- one-off costs in rows and reports -----------------------------------------------------


def _report() -> dict:
    return {
        "interpreter": {"implementation": "CPython", "version": "3.11.8+"},
        "load_seconds": 0.2,
        "kernels": {"xxh64": {"seconds": [0.5, 0.3, 0.31, 0.29], "checksums": ["ab"] * 4}},
        "engine": "wasmtime-py 50 (Cranelift, compilation cache on)",
        "compile_seconds": 3.0,
        "instantiate_seconds": 0.01,
        "run_seconds": 4.0,
        "module_bytes": 13 * 2**20,
    }


def test_rows_carry_the_one_off_costs() -> None:
    runtime = runtimes.BY_NAME["py2wasm-wasmtime"]
    (row,) = runtimes.rows(runtime, _report(), {"xxh64": "ab"}, {"xxh64": 2**20})
    info = row["extra_info"]
    assert info["parity"] == "ok" and info["kind"] == "wasm"
    assert info["timed"] == runtimes.TIMED_PY2WASM and "inside the runtime" in info["timed"]
    assert info["compile_seconds"] == 3.0 and info["instantiate_seconds"] == 0.01
    assert info["engine"].startswith("wasmtime-py") and info["first_call_s"] == 0.5
    assert row["stats"]["median"] == pytest.approx(0.30)


def test_summary_and_report_show_one_off_costs_and_ratio_to_cpython() -> None:
    wasm = runtimes.rows(
        runtimes.BY_NAME["py2wasm-wasmtime"], _report(), {"xxh64": "ab"}, {"xxh64": 2**20}
    )
    native = _report()
    for key in ("engine", "compile_seconds", "instantiate_seconds", "run_seconds"):
        del native[key]
    native["kernels"]["xxh64"]["seconds"] = [0.2, 0.15, 0.15, 0.15]
    cpython = runtimes.rows(runtimes.BY_NAME["cpython"], native, {"xxh64": "ab"}, {"xxh64": 2**20})
    benchmarks = wasm + cpython
    notes = rows.summary_notes(benchmarks)
    (one_off,) = [n for n in notes if n.startswith("one-off:")]
    assert "py2wasm-wasmtime" in one_off and "module compile 3 s" in one_off
    assert rows.vs_runtime(benchmarks) == {"py2wasm-wasmtime": {"xxh64 · 1MiB": pytest.approx(2.0)}}
    lines = report._runtimes_section(benchmarks)
    text = "\n".join(lines)
    assert "| `py2wasm-wasmtime` | 2.00× |" in text
    assert "3 s" in text and "13.0 MiB" in text and "wasmtime-py 50" in text


# -- the signature patch -------------------------------------------------------------------


def _patch_maker():
    path = ROOT / "wasm" / "py2wasm" / "make_signature_patch.py"
    spec = importlib.util.spec_from_file_location("make_signature_patch", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


C_SOURCE = """\
static PyObject *Thing_get_name(struct ThingObject *thing) {
    return thing->name;
}

static int Thing_set_name(struct ThingObject *thing, PyObject *value) {
    return 0;
}

static PyObject *Thing_close(struct ThingObject *thing) {
    Py_RETURN_NONE;
}

static PyObject *Thing_fine(PyObject *self, void *closure) {
    Py_RETURN_NONE;
}

static PyGetSetDef Thing_getset[] = {
    {(char *)"__name__", (getter)Thing_get_name, (setter)Thing_set_name, NULL},
    {(char *)"fine", (getter)Thing_fine, NULL, NULL},
    {NULL}};

static PyMethodDef Thing_methods[] = {{"close", (PyCFunction)Thing_close, METH_NOARGS, NULL},
                                      {NULL}};
"""


def test_signature_patch_wraps_mismatched_entries_only() -> None:
    fixed, changed = _patch_maker().fix(C_SOURCE)
    assert sorted(changed) == [
        "Thing_close as noargs (1 parameters)",
        "Thing_get_name as getter (1 parameters)",
        "Thing_set_name as setter (2 parameters)",
    ]
    assert (
        "static PyObject *Thing_get_name__wasm_getter(PyObject *self, void *closure) "
        "{ return (PyObject *)Thing_get_name((void *)self); }" in fixed
    )
    assert (
        "static int Thing_set_name__wasm_setter(PyObject *self, PyObject *value, void *closure) "
        "{ return Thing_set_name((void *)self, (void *)value); }" in fixed
    )
    assert "(PyCFunction)Thing_close__wasm_noargs, METH_NOARGS" in fixed
    assert "(getter)Thing_fine, NULL" in fixed  # already right: untouched
    # each wrapper follows its function's definition, before the tables that use it
    assert fixed.index("Thing_get_name__wasm_getter(PyObject") < fixed.index("PyGetSetDef")
    assert _patch_maker().fix(fixed)[1] == []  # idempotent: nothing left to fix


def test_patched_py2wasm_has_no_mismatched_entries_left() -> None:
    """When build.sh has made py2wasm's venv: the committed patch left nothing to fix."""
    site = next(
        iter(sorted((py2wasm.cache_dir() / "venv" / "lib").glob("python3.11/site-packages"))),
        None,
    )
    if site is None:
        pytest.skip("py2wasm's venv is not built (bash wasm/py2wasm/build.sh)")
    static_src = site / "nuitka" / "build" / "static_src"
    leftovers = [
        change
        for path in static_src.glob("*.c")
        for change in _patch_maker().fix(path.read_text())[1]
    ]
    assert leftovers == []
