"""`python -m sim ...` is `trustsim ...`."""

import sys

from sim.cli import main

sys.exit(main())
