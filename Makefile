# hotpath's two commands, and the steps under them.
#
#   make          everything this machine can have, then the full benchmark and its reports
#   make test     every test: what CI runs (.ci/run is `make setup test` in a fresh clone)
#
# Make rather than nox or tox: it is on every machine that can build hotpath at all (the
# compiled backends need build-essential); each step is a file-stamped target, so a second
# `make` redoes only what changed; and it runs the system-level steps (apt, the JDK, the
# py2wasm build) that a Python session tool cannot own. `make help` lists the targets.
#
# Each step announces itself and its time. A step that cannot apply here -- no root for apt
# -- says so and is skipped; a step that fails stops the build with a non-zero status and
# what to install by hand.

SHELL := /bin/bash
# one shell per recipe: a step can time itself, and `cd`s and variables carry across its lines
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

VENV ?= .venv
PYTHON ?= python3
STAMPS := $(VENV)/.make
PY := $(VENV)/bin/python
HOTPATH := $(VENV)/bin/hotpath
# The full benchmark: the kernels at 10^6 readings, the pipeline's ladder at 10^5 (the naive
# program included) and 10^7, the databases at 10^5, instruction counts. `make bench
# BENCH_ARGS=...` adds to it.
BENCH_ARGS ?=
BENCH := --benchmark-compare --hotpath-size 1e6 --hotpath-pipeline 1e5,1e7 \
         --hotpath-database 1e5 --hotpath-instructions $(BENCH_ARGS)

step = @echo "==> $(1)"; start=$$SECONDS
done = echo "    $(1) in $$((SECONDS - start)) s"

.PHONY: all setup bench test help clean-stamps wasmer-runner

all: setup bench ## everything this machine can have, then the full benchmark and its reports

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

setup: $(STAMPS)/toolchains $(STAMPS)/install $(STAMPS)/interpreters $(STAMPS)/py2wasm ## toolchains, venv, every extra, the other interpreters, py2wasm
	@echo "setup: done ($(VENV))"

# -- the steps ----------------------------------------------------------------------------

# System packages: the C toolchain and CMake, the wasm32 toolchain, valgrind, PostgreSQL, a JDK.
$(STAMPS)/toolchains: wasm/setup-debian.sh fuzz/setup-debian.sh .ci/setup-system
	$(call step,system packages)
	bash .ci/setup-system
	mkdir -p $(STAMPS) && touch $@
	$(call done,system packages)

$(PY):
	$(call step,virtual environment $(VENV))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(call done,virtual environment)

# The editable install with every extra: again whenever a build input changes.
EXTRAS := test,profile,postgres,wheels,spark,dask,fuzz,wasmer
BUILD_INPUTS := pyproject.toml CMakeLists.txt Cargo.toml Cargo.lock \
    $(shell git ls-files '*/CMakeLists.txt' '*.c' '*.h' '*.pyx' '*.rs' 2>/dev/null)
$(STAMPS)/install: $(PY) $(BUILD_INPUTS)
	$(call step,pip install -e ".[$(EXTRAS)]")
	$(PY) -m pip install -e ".[$(EXTRAS)]"
	mkdir -p $(STAMPS) && touch $@
	$(call done,install)

# PyPy and GraalPy for the benchmark's interpreter rows (HOTPATH_INTERPRETERS: which).
$(STAMPS)/interpreters: $(STAMPS)/install .ci/setup-interpreters graalpy/pom.xml
	$(call step,other interpreters: $${HOTPATH_INTERPRETERS:-pypy graalpy})
	. $(VENV)/bin/activate && read -r -a parts <<< "$${HOTPATH_INTERPRETERS:-pypy graalpy}" \
	  && .ci/setup-interpreters "$${parts[@]}"
	touch $@
	$(call done,other interpreters)

# python_ref compiled to WebAssembly, and the Node packages of its runtimes. build.sh
# itself rebuilds only when the module's sources changed (its cache key).
$(STAMPS)/py2wasm: $(STAMPS)/install wasm/package-lock.json
	$(call step,py2wasm module and Node packages)
	npm ci --prefix wasm --no-audit --no-fund --loglevel=error
	if command -v clang-16 >/dev/null; then . $(VENV)/bin/activate && bash wasm/py2wasm/build.sh; \
	else echo "    py2wasm skipped: it needs clang-16 and wasi-libc (wasm/setup-debian.sh)"; fi
	touch $@
	$(call done,py2wasm)

# Not in setup: the py2wasm-wasmer-cranelift/-singlepass rows' own runner (wasmer + wasmer-wasix),
# a clean build of ~400 crates (73 minutes on this 2-core machine; incremental after that).
wasmer-runner: $(STAMPS)/install ## build hotpath-wasmer-runner for the Cranelift and Singlepass rows (long)
	$(call step,hotpath-wasmer-runner (cargo))
	bash wasm/wasmer-runner/build.sh
	$(call done,wasmer-runner)

clean-stamps: ## forget what setup did (the next make checks every step again)
	rm -rf $(STAMPS)

# -- the main job and the tests -----------------------------------------------------------

bench: setup ## the full benchmark, its summary, RESULTS.md and PERFORMANCE.md
	$(call step,pytest bench/ $(BENCH))
	. $(VENV)/bin/activate && pytest bench/ $(BENCH)
	$(HOTPATH) report
	$(HOTPATH) performance
	$(call done,benchmark)

test: setup ## every test: ruff, the suite, the benchmark's parity run, the tools (CI's job)
	$(call step,every test)
	. $(VENV)/bin/activate && bash .ci/test
	$(call done,every test)
