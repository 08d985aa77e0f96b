"""``python -m xenlab`` is the ``xenlab`` command."""

import sys

from xenlab.cli import main

sys.exit(main())
