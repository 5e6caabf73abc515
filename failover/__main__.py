"""`python -m failover` is the `failover` command."""

import sys

from failover.cli import main

sys.exit(main())
