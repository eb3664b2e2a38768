"""Allergens are shown as words in the reader's language, never as the menu's codes: the table of words
covers exactly the codes the menu accepts, and the parent's menu page names them in kk, ru and en."""

from __future__ import annotations

from sqlalchemy import select

from backend.auth.model import Principal, Role
from backend.clock import local_date
from backend.menu.model import ALLERGENS
from backend.menu.services import publish
from backend.roster.tables import Guardianship, Parent
from backend.unit_of_work import UnitOfWork
from backend.web import i18n
from backend.web.texts import ALLERGENS as WORDS

from .conftest import MOTHER, Web

SHOWN = {
    "kk": ("Сүт", "Глютені бар дәнді дақылдар"),
    "ru": ("Молоко", "Злаки, содержащие глютен"),
    "en": ("Milk", "Cereals containing gluten"),
}


def test_every_allergen_code_has_its_words_in_each_language() -> None:
    assert set(WORDS) == set(ALLERGENS) and len(ALLERGENS) == 14
    for lang in ("kk", "ru"):
        words = {i18n.translations(lang).gettext(w) for w in WORDS.values()}
        assert len(words) == 14 and not words & set(WORDS.values()), lang  # translated, all distinct


def test_the_parents_menu_page_names_the_allergens(web: Web) -> None:
    ctx, school = web.ctx, web.district.school_id
    head = Principal("admin", 1, Role.SCHOOL_HEAD, None, frozenset({school}))
    dishes: list[object] = [{"kk": "Нан", "ru": "Хлеб", "allergens": ["milk", "gluten"]}]
    with UnitOfWork(ctx.session_factory) as uow:
        publish(uow, head, school, local_date(web.clock.now()), 1, dishes, web.clock.now())
    with ctx.session_factory() as session:
        parent_id = session.scalars(select(Parent.id).where(Parent.phone == MOTHER)).one()
        pupil = session.scalars(
            select(Guardianship.pupil_id).where(Guardianship.parent_id == parent_id)
        ).first()
    for lang, (milk, gluten) in SHOWN.items():
        client = web.client(lang)
        web.sign_in(client, MOTHER)
        page = client.get(f"/child/{pupil}/menu")
        assert page.status_code == 200
        text = page.text.split("Хлеб" if lang == "ru" else "Нан", 1)[1]
        assert f"{gluten}, {milk}" in text, lang
        assert ">gluten" not in page.text and "milk," not in page.text, lang
