"""Languages of the pages: Kazakh (default), Russian, English, from gettext catalogs (Babel).

Catalogs are read from the `.po` sources and compiled in memory when first used, so a fresh clone
needs no build step and no compiled file can drift from its source. Plural forms are the CLDR rules
Babel writes into each catalog's header.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("kk", "ru", "en")
DEFAULT = "kk"
# Each language's own name: what a reader of that language looks for in the switcher.
ENDONYMS = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
HTML_LANG = {"kk": "kk", "ru": "ru", "en": "en"}
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> Translations:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    with po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt does
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an Accept-Language header (RFC 9110 q-values), or None."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        key = (q, -position, primary)
        if best is None or key > best:
            best = key
    return best[2] if best else None


def from_record(language: str | None) -> str | None:
    """A parent record names the SMS language: "kk", "ru", or "kk+ru" (both, so no single choice)."""
    return language if language in LANGUAGES else None


def choose(*, chosen: str | None, record: str | None, accept_language: str | None) -> str:
    """The visitor's own choice on the switcher, then the parent's record, then the browser, then Kazakh."""
    if chosen in LANGUAGES:
        return chosen
    return from_record(record) or from_accept_language(accept_language) or DEFAULT
