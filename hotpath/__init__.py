"""hotpath: one kernel set, every way to make Python fast, checked against one reference.

The core lives at this package's top level: the array boundary every backend binds to
(``hotpath.contract``), the backend registry (``hotpath.backends``), the dataset generator
(``hotpath.data``), standard-library CSV I/O (``hotpath.csvio``), result comparison
(``hotpath.parity``) and the record of one benchmark case (``hotpath.records``). Backends
import only these. The tools built on them are one subpackage per role: ``hotpath.runs``
(python_ref under other interpreters and runtimes), ``hotpath.reporting`` (tables, charts,
reports), ``hotpath.wheels`` (build, check and compare the wheels); ``hotpath.cli``
dispatches to them. Importing this package imports none of them, so stdlib-only consumers
(PyPy, GraalPy, WebAssembly drivers) can use ``hotpath.csvio`` without NumPy.
"""

__version__ = "0.1.0"
