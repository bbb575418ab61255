"""``python3 -m fuzz``: see :mod:`fuzz.run`."""
from __future__ import annotations

import sys

from .run import main

sys.exit(main())
