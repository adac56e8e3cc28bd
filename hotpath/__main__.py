import sys

from hotpath.cli import main

sys.exit(main())
