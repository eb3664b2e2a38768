"""Message catalogs: `python -m backend.web.catalogs` extracts every translatable string of the pages
(templates and Python) into locale/messages.pot and merges it into each language's .po file, keeping
the translations already made. The tests check that no string is left untranslated."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from . import i18n

ROOT = Path(__file__).parent
BACKEND = ROOT.parent
METHODS = [("web/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
POT = i18n.LOCALE_DIR / "messages.pot"


def extract() -> Catalog:
    """Every message of the templates and of the Python modules that mark words for the pages."""
    catalog = Catalog(project="school-meals", version="1", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        BACKEND, METHODS, OPTIONS, KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
    ):
        if not (filename.startswith("web/") or filename.startswith("notify/")):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def update() -> None:
    template = extract()
    with POT.open("wb") as fh:
        write_po(fh, template, omit_header=False, sort_output=True, width=110)
    for lang in i18n.LANGUAGES:
        path = i18n.po_path(lang)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, project="school-meals", version="1", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as fh:
            write_po(fh, catalog, sort_output=True, width=110, omit_header=False)


if __name__ == "__main__":
    update()
    sys.exit(0)
