"""No user-visible string is missing from a catalog: every string the templates and Python mark is in
the committed template and translated (each plural form) in Kazakh, Russian and English; no template
shows words that are not marked; each catalog carries its language's CLDR plural rule."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from backend.web import catalogs, i18n
from backend.web.pages import TEMPLATES

JINJA = re.compile(r"{%-? *trans\b.*?endtrans *-?%}|{{.*?}}|{%.*?%}|{#.*?#}", re.S)
VISIBLE_ATTRS = {"title", "alt", "placeholder", "aria-label", "label"}
LETTERS = re.compile(r"[^\W\d_]{2,}")


def _ids(catalog: Catalog) -> set[object]:
    return {m.id for m in catalog if m.id}


def _po(lang: str) -> Catalog:
    with i18n.po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def test_the_committed_template_holds_every_marked_string() -> None:
    with catalogs.POT.open("rb") as fh:
        committed = read_po(fh)
    missing = _ids(catalogs.extract()) - _ids(committed)
    assert not missing, (
        f"run `python -m backend.web.catalogs`; not in messages.pot: {sorted(map(str, missing))}"
    )


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_string_is_translated(lang: str) -> None:
    po = _po(lang)
    problems = []
    for message in catalogs.extract():
        if not message.id:
            continue
        found = po.get(message.id)
        if found is None:
            problems.append(f"missing: {message.id!r}")
            continue
        forms = found.string if isinstance(found.string, tuple) else (found.string,)
        if found.fuzzy or not all(forms):
            problems.append(f"untranslated or fuzzy: {message.id!r}")
        if isinstance(found.id, tuple) and len(forms) != po.num_plurals:
            problems.append(f"{len(forms)} plural forms, the language has {po.num_plurals}: {message.id!r}")
    assert problems == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_catalog_plural_rule_is_cldr(lang: str) -> None:
    po, cldr = _po(lang), get_plural(Locale.parse(lang))
    assert po.num_plurals == cldr.num_plurals
    assert po.plural_expr.replace(" ", "") == cldr.plural_expr.replace(" ", "")


class _Text(HTMLParser):
    """Text nodes and visible attributes left after the template's own tags are taken out."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if value and (name in VISIBLE_ATTRS or name.startswith("data-t-")) and LETTERS.search(value):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and LETTERS.search(data):
            self.found.append(data.strip())


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_show_no_unmarked_words(path: Path) -> None:
    source = JINJA.sub(" ", path.read_text(encoding="utf-8"))
    parser = _Text()
    parser.feed(source)
    assert parser.found == [], f"words outside _() in {path.name}: {parser.found}"


def test_the_unmarked_words_check_catches_a_bare_string(tmp_path: Path) -> None:
    parser = _Text()
    parser.feed(JINJA.sub(" ", '<p>{{ _("Marked") }}</p><button title="Close">Send now</button>'))
    assert parser.found == ["<button title='Close'>", "Send now"]


def test_pages_render_in_each_language(web: object) -> None:
    from .conftest import Web

    assert isinstance(web, Web)
    seen = {}
    for lang in i18n.LANGUAGES:
        html = web.client(lang).get("/").text
        assert f'<html lang="{lang}">' in html
        seen[lang] = re.search(r"<h1>(.*?)</h1>", html, re.S)
    headings = {lang: m.group(1) for lang, m in seen.items() if m}
    assert len(set(headings.values())) == 3, headings  # three languages, three different headings
