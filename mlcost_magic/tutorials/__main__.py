"""``python -m mlcost_magic.tutorials``: run the tutorial notebooks headless (see runner)."""

import sys

from .runner import main

sys.exit(main())
