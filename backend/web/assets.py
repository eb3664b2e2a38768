"""The app's own static files (no CDN): served from memory, gzipped once, named by content hash so a
browser may keep them for a year and still get a new version the moment one ships."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC = Path(__file__).with_name("static")
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    version: str


@cache
def load(name: str) -> Asset | None:
    path = (STATIC / name).resolve()
    if STATIC.resolve() not in path.parents or not path.is_file():
        return None
    body = path.read_bytes()
    media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Asset(body, gzip.compress(body, 9, mtime=0), media, hashlib.sha256(body).hexdigest()[:12])


def asset_url(name: str) -> str:
    asset = load(name)
    if asset is None:
        raise LookupError(f"no static file {name}")
    return f"/static/{name}?v={asset.version}"
