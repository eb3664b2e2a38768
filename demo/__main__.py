"""`python -m demo`: the canteen day, told end to end."""

from __future__ import annotations

from .story import main

raise SystemExit(main())
