"""`python -m shared_crypto inspect|verify|keygen` (see shared_crypto.cli)."""

from .cli import main

raise SystemExit(main())
