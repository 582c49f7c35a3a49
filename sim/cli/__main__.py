"""`python -m sim.cli ...` is `trustsim ...`."""

import sys

from sim.cli import main

sys.exit(main())
