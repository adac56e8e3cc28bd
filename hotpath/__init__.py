"""hotpath: one kernel set, every way to make Python fast, checked against one reference.

Shared machinery lives here once: the array boundary every backend binds to
(``hotpath.contract``), the backend registry (``hotpath.backends``), the
dataset generator (``hotpath.data``) and standard-library CSV I/O
(``hotpath.csvio``). Importing this package imports none of them, so
stdlib-only consumers (PyPy, GraalPy, WebAssembly drivers) can use
``hotpath.csvio`` without NumPy.
"""

__version__ = "0.1.0"
