"""``hotpath wheels``: what each technology ships, next to what it buys.

For every package of the project -- the shared core, each backend alone, and the all-in-one root
wheel -- this builds the wheel from scratch the way its ecosystem builds it (``pip wheel`` on the
folder: scikit-build-core, with CMake for the C backends, or maturin for Rust), repairs platform
wheels with ``auditwheel`` to a manylinux tag, installs the result into a fresh virtual
environment, times a cold import there, and runs the parity tests against the installed wheel
(``python -m hotpath.wheels check``, the same command cibuildwheel's test step runs). The table
it prints, and writes to ``reports/WHEELS.md``, compares build time, wheel size (compressed and
installed, alone and with its dependencies), tags, runtime dependencies and import time.

Everything at module level is standard library, so ``python -m hotpath.wheels check`` runs in a
test environment that has nothing but the wheel under test, its dependencies, pytest and
hypothesis.

Modules: ``packages`` (the wheels, and what their names and metadata say), ``build`` (build,
repair, install, test and time one package), ``check`` (the test an installed wheel must pass),
``compare`` (the comparison as tables and WHEELS.md) and ``cli`` (the command).
"""
