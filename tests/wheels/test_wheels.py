"""`hotpath wheels`: the logic around the builds (names, tags, metadata, tables) and the packaging
configuration it relies on. No wheel is built here: `hotpath wheels` itself does that."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import hotpath
from hotpath import backends
from hotpath.cli import main
from hotpath.wheels import build, check, cli, compare, packages
from hotpath.wheels.build import Result
from hotpath.wheels.compare import Benefit, Context
from hotpath.wheels.packages import Package, WheelTags

ROOT = Path(__file__).resolve().parents[2]

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else None


def toml(path: Path) -> dict:
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    return tomllib.loads(path.read_text(encoding="utf-8"))


# -- wheel names and tags ----------------------------------------------------------------------


def test_parse_pure_wheel() -> None:
    tags = packages.parse_wheel_name("hotpath_python_ref-0.1.0-py3-none-any.whl")
    assert tags == WheelTags("hotpath_python_ref", "0.1.0", "py3", "none", ("any",))
    assert tags.pure and not tags.abi3
    assert packages.portability(tags) == "any"
    assert tags.tag == "py3-none-any"


def test_parse_repaired_wheel_with_several_platform_tags() -> None:
    name = "hotpath_cython_ext-0.1.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
    tags = packages.parse_wheel_name(f"/some/folder/{name}")
    assert tags.platforms == ("manylinux2014_x86_64", "manylinux_2_17_x86_64")
    assert not tags.pure and not tags.abi3
    assert packages.portability(tags) == "manylinux_2_17"


@pytest.mark.parametrize(
    ("platforms", "expected"),
    [
        ("manylinux1_x86_64.manylinux_2_5_x86_64", "manylinux_2_5"),
        ("manylinux_2_34_x86_64", "manylinux_2_34"),
        ("manylinux_2_28_aarch64.manylinux_2_27_aarch64", "manylinux_2_27"),  # the oldest wins
        ("manylinux2010_x86_64", "manylinux_2_12"),
        ("linux_x86_64", "linux_x86_64 (not repaired)"),
        ("macosx_11_0_arm64", "macosx_11_0_arm64"),
        ("win_amd64", "win_amd64"),
    ],
)
def test_portability(platforms: str, expected: str) -> None:
    tags = packages.parse_wheel_name(f"x-1.0-cp312-cp312-{platforms}.whl")
    assert packages.portability(tags) == expected


def test_abi3_and_build_tag() -> None:
    tags = packages.parse_wheel_name("x-1.0-1-cp310-abi3-manylinux_2_17_x86_64.whl")
    assert tags.abi3 and tags.python == "cp310" and tags.version == "1.0"


@pytest.mark.parametrize("name", ["x-1.0-py3-none-any.tar.gz", "x-py3-none-any.whl", "x.whl"])
def test_not_a_wheel_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a wheel"):
        packages.parse_wheel_name(name)


# -- metadata, RECORD, pytest output --------------------------------------------------------------

METADATA = """\
Metadata-Version: 2.4
Name: hotpath-core
Version: 0.1.0
Requires-Python: >=3.10
Requires-Dist: hotpath-python-ref==0.1.0
Requires-Dist: numpy>=1.26
Requires-Dist: tomli; python_version < "3.11"
Provides-Extra: report
Requires-Dist: matplotlib>=3.8; extra == "report"

A description, which may say Requires-Dist: nothing.
"""


def test_requires_dist_keeps_runtime_dependencies_only() -> None:
    assert packages.requires_dist(METADATA) == [
        "hotpath-python-ref==0.1.0",
        "numpy>=1.26",
        'tomli; python_version < "3.11"',
    ]
    assert packages.requires_dist("Name: x\nVersion: 1\n") == []


@pytest.mark.parametrize(
    ("requirement", "name"),
    [("numpy>=1.26", "numpy"), ('tomli; python_version < "3.11"', "tomli"), ("a[b]==1", "a")],
)
def test_short_requirement(requirement: str, name: str) -> None:
    assert packages.short_requirement(requirement) == name


def test_installed_bytes_sums_what_record_lists(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_bytes(b"x" * 100)
    (tmp_path / "pkg" / "b,c.so").write_bytes(b"y" * 20)  # a comma: RECORD quotes it
    (tmp_path / "other.py").write_bytes(b"z" * 5000)  # not in RECORD
    record = "\n".join(
        [
            "pkg/a.py,sha256=abc,100",
            '"pkg/b,c.so",sha256=def,20',
            "pkg/gone.pyc,,",
            "x.dist-info/RECORD,,",
        ]
    )
    assert packages.record_paths(record)[1] == "pkg/b,c.so"
    assert packages.installed_bytes(tmp_path, record) == 120
    assert packages.tree_bytes(tmp_path) == 5120


def test_passed_count() -> None:
    out = "..s.\n=== 158 passed, 2 skipped, 918 deselected in 5.66s ===\n"
    assert build.passed_count(out) == "158 passed, 2 skipped"
    assert build.passed_count("no summary") == ""


# -- tables -------------------------------------------------------------------------------------


def _result(name: str, wheel: str, **kwargs: object) -> Result:
    package = next(p for p in packages.PACKAGES if p.name == name)
    tags = packages.parse_wheel_name(wheel)
    return Result(
        package,
        wheel=wheel,
        tags=tags,
        portability=packages.portability(tags),
        **kwargs,  # type: ignore[arg-type]
    )


RESULTS = [
    _result(
        "cffi_ext",
        "hotpath_cffi_ext-0.1.0-cp311-cp311-manylinux1_x86_64.manylinux_2_5_x86_64.whl",
        distribution="hotpath-cffi-ext",
        build_s=11.9,
        wheel_bytes=10_240,
        installed_bytes=30_720,
        with_deps_bytes=85_000_000,
        dependencies=["hotpath-core==0.1.0", "numpy>=1.26", "cffi>=1.17"],
        import_s=0.2874,
        tests="278 passed",
        passed=True,
    ),
    _result(
        "rust_ext",
        "hotpath_rust_ext-0.1.0-cp311-cp311-linux_x86_64.whl",
        distribution="hotpath-rust-ext",
        build_s=93.0,
        error="install: installing failed (exit 1):\nno hotpath-core",
    ),
]


def test_table_rows() -> None:
    ok, failed = compare.table_rows(RESULTS)
    assert len(ok) == len(compare.HEADER) == len(compare.ALIGN)
    row = dict(zip(compare.HEADER, ok))
    assert row["clean build"] == "11.9 s"
    assert row["wheel"] == "10 KiB" and row["installed"] == "30 KiB"
    assert row["with deps"] == "81.1 MiB"
    assert row["abi3"] == "no" and row["portability"] == "manylinux_2_5"
    assert row["runtime dependencies"] == "hotpath-core, numpy, cffi"
    assert row["cold import"] == "287 ms"
    assert row["parity (installed)"] == "✓ 278 passed"
    failure = dict(zip(compare.HEADER, failed))
    assert failure["parity (installed)"] == "✗ install: installing failed (exit 1):"
    assert failure["installed"] == "–" and failure["portability"] == "linux_x86_64 (not repaired)"


def test_rich_table_leaves_out_the_long_columns() -> None:
    from rich.console import Console

    console = Console(width=300, record=True)
    console.print(compare.rich_table(RESULTS, "title"))
    text = console.export_text()
    assert "cffi_ext" in text and "manylinux_2_5" in text and "✓ 278 passed" in text
    assert "hotpath-cffi-ext" not in text  # the distribution column is in the report only


def test_markdown_report() -> None:
    context = Context(
        when="2026-11-21 12:00 UTC",
        machine="Test CPU, 2 cores",
        python="CPython 3.11.7",
        command="hotpath wheels",
        import_runs=7,
        load="0.5",
        libc="glibc 2.36",
        bare_start_s=0.02,
        numpy_import_s=0.09,
    )
    benefit = Benefit(
        "a run",
        {
            "cffi_ext": {
                "aggregate": (113.2, "aggregate · 1M rows"),
                "xxh64": (4.56, "xxh64 · 64MiB"),
            },
            "python_ref": {"aggregate": (1.0, "aggregate · 1M rows")},
        },
    )
    text = compare.markdown(RESULTS, context, benefit)
    assert text.startswith("# What each backend ships: wheels\n")
    assert "| package | distribution | built by |" in text
    assert "| cffi_ext | hotpath-cffi-ext |" in text
    assert "load average 0.5" in text and "bare interpreter starts in 20 ms" in text
    assert "(this machine: glibc 2.36)" in text
    assert "## Cost and benefit" in text
    header = "| backend | wheel | installed with deps | cold import | aggregate (1M rows) |"
    assert header + " xxh64 (64MiB) |" in text
    assert "| `cffi_ext` | 10 KiB | 81.1 MiB | 287 ms | 113× | 4.6× |" in text
    assert "`python_ref` |" not in text  # the baseline has no speedup over itself
    assert "Cost and benefit" not in compare.markdown(RESULTS, context, None)


def test_benefit_from_missing_storage(tmp_path: Path) -> None:
    assert compare.benefit_from_run(tmp_path / "nothing") is None


# -- selection and the command -----------------------------------------------------------------


def test_select() -> None:
    assert cli.select(None) == list(packages.PACKAGES)
    chosen = [p.name for p in cli.select("rust_ext, cffi_ext")]
    assert chosen == ["python_ref", packages.CORE, "cffi_ext", "rust_ext"]  # in build order
    with pytest.raises(packages.WheelsError, match="fortran_ext"):
        cli.select("fortran_ext")


def test_every_backend_has_a_wheel() -> None:
    """Every registered backend of the base set-up has its own wheel and is in the all-in-one
    import timing (optional ones need a toolchain beyond it, and have no wheel of their own).
    A parallel variant is a subpackage of its technology's folder, so it ships in that wheel."""
    optional = {b.name for b in backends.BACKENDS if getattr(b, "optional", False)}
    sequential = {b.name for b in backends.BACKENDS if not b.parallel} - optional
    assert sequential <= set(packages.NAMES)
    for variant in backends.parallel():
        assert variant.name.startswith(f"{variant.parallel_of}.")
        assert variant.parallel_of in packages.NAMES or variant.parallel_of in optional
    all_in_one = next(p for p in packages.PACKAGES if p.name == packages.ALL_IN_ONE)
    assert set(all_in_one.imports) == sequential


def test_cli_rejects_unknown_package(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheels", "--backends", "fortran_ext", "--no-report"]) == 1
    assert "unknown package(s) fortran_ext" in capsys.readouterr().err


def test_check_refuses_the_source_tree(capsys: pytest.CaptureFixture[str]) -> None:
    """Run here, with the checkout importable, the check stops before pytest."""
    if all(
        Path(sys.modules["hotpath"].__file__).resolve().is_relative_to(site)
        for site in check._site_dirs()
    ):
        pytest.skip("hotpath is installed as a wheel here")
    assert check.check(ROOT / "tests") == 1
    captured = capsys.readouterr()
    assert "NOT from site-packages" in captured.out and "not testing a source tree" in captured.err


# -- the packaging configuration `hotpath wheels` and cibuildwheel rely on ---------------------


@pytest.mark.parametrize("package", packages.PACKAGES, ids=lambda p: p.name)
def test_each_package_folder_builds_alone(package: Package) -> None:
    project = toml(ROOT / package.folder / "pyproject.toml")["project"]
    if package.name == packages.ALL_IN_ONE:
        assert project["name"] == "hotpath"
        return
    expected = (
        "hotpath-core"
        if package.name == packages.CORE
        else "hotpath-" + package.name.replace("_", "-")
    )
    assert project["name"] == expected


@pytest.mark.parametrize(
    "folder", [p.folder for p in packages.PACKAGES if p.folder not in (".", "rust_ext")]
)
def test_scikit_build_packages_share_one_version_and_pin_the_core(folder: str) -> None:
    config = toml(ROOT / folder / "pyproject.toml")
    skbuild = config["tool"]["scikit-build"]
    assert "version" in config["project"]["dynamic"]
    version_file = (ROOT / folder / skbuild["metadata"]["version"]["input"]).resolve()
    assert version_file == ROOT / "hotpath" / "__init__.py"
    assert skbuild["wheel"]["packages"] == [f"../{folder}"]  # the folder is the package
    assert "pyproject.toml" in skbuild["wheel"]["exclude"]
    if folder not in ("python_ref", "hotpath"):
        dependencies = skbuild["metadata"]["dependencies"]["result"]
        assert "hotpath-core=={project[version]}" in dependencies
    if "cmake" in skbuild:  # a compiled backend: the root build, restricted to it
        assert skbuild["cmake"]["source-dir"] == ".."
        assert skbuild["cmake"]["define"]["HOTPATH_BACKENDS"] == folder
        assert (ROOT / folder / "CMakeLists.txt").is_file()
    else:
        assert skbuild["wheel"]["cmake"] is False


def test_rust_ext_version_and_core_pin_match_hotpath() -> None:
    project = toml(ROOT / "rust_ext" / "pyproject.toml")["project"]
    cargo = toml(ROOT / "rust_ext" / "Cargo.toml")["package"]
    assert project["version"] == cargo["version"] == hotpath.__version__
    assert f"hotpath-core=={hotpath.__version__}" in project["dependencies"]


def test_root_wheel_leaves_the_per_package_files_out() -> None:
    skbuild = toml(ROOT / "pyproject.toml")["tool"]["scikit-build"]
    assert "**/pyproject.toml" in skbuild["wheel"]["exclude"]


def test_cibuildwheel_configuration() -> None:
    config = toml(ROOT / "pyproject.toml")
    cibw = config["tool"]["cibuildwheel"]
    for minor in range(10, 15):
        assert f"cp3{minor}-*" in cibw["build"]
    assert "pp311-*" in cibw["build"]
    assert any(b.startswith("gp") for b in cibw["build"])
    assert cibw["test-command"] == "python -m hotpath.wheels check tests"
    assert cibw["test-sources"] == ["tests"]
    assert set(cibw["test-requires"]) == set(build.TEST_REQ)
    assert re.search(r"\./python_ref \./hotpath$", cibw["before-test"])
    assert cibw["test-environment"]["PIP_FIND_LINKS"] in cibw["before-test"]
    optional = config["project"]["optional-dependencies"]["wheels"]
    assert any(r.startswith("auditwheel") for r in optional)


def test_workflow_builds_every_compiled_package() -> None:
    text = (ROOT / ".github" / "workflows" / "wheels.yml").read_text(encoding="utf-8")
    compiled = [
        p.folder
        for p in packages.PACKAGES
        if p.built_by.startswith(("maturin", "scikit-build-core →"))
    ]
    for folder in compiled:
        assert re.search(rf'dir: "?{re.escape(folder)}"?[ ,]', text), folder
    for folder in (p.folder for p in packages.PACKAGES if p.built_by.endswith("pure")):
        assert folder in text
    assert "--config-file pyproject.toml" in text


def test_results_md_links_to_wheels_md() -> None:
    from hotpath.reporting import report, saved

    run = saved.Run(Path("run.json"), {"benchmarks": []})
    assert "[WHEELS.md](WHEELS.md)" in report.markdown(run, None, False, wheels=True)
    assert "WHEELS.md" not in report.markdown(run, None, False)


def test_import_medians(tmp_path: Path) -> None:
    python = Path(sys.executable)
    imported, bare = build.import_medians([(python, ("json",)), (python, ())], 2, tmp_path)
    assert 0 < imported < bare  # the import alone, against a whole interpreter's start and stop
