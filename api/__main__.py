"""`python -m api` runs the regflow command line."""

from __future__ import annotations

import sys

from api.launch import main

sys.exit(main())
