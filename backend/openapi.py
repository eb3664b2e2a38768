"""`python -m backend.openapi [FILE]`: the API's OpenAPI description, as committed in docs/openapi.json.

Built from a throw-away app (in-memory SQLite, keys in a temporary directory), so writing it touches
no database and no key store.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from backend.app import create_app
from backend.config import Settings

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def openapi_schema() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database_url="sqlite://", key_dir=Path(tmp) / "keys"))
        schema: dict[str, Any] = app.openapi()
        app.state.ctx.engine.dispose()
        return schema


def render() -> str:
    return json.dumps(openapi_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEFAULT_FILE
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
