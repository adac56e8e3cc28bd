import sys

from hotpath.wheels.check import main

sys.exit(main())
