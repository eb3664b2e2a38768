"""A whole school year (September 2026 to May 2027) for a small district on PostgreSQL, clock in hand.

District Almaly: schools A and B, one supplier. Families: m1's child moves from A to B on 15 November
(by import); m2's child is left off December's and January's lists and is back in February; f3
declines in September; m4 has no phone until 12 October (a district category, discounted plan);
m5 has children at both schools; f7's child is in grade 2. Meals are served on the 10th and 20th of
each month to every active voucher; a late September batch arrives after the head signed September.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from backend.auth.model import Principal
from backend.billing import register, steps
from backend.billing.services import compute_acts
from backend.calendar.tables import TariffRow
from backend.clock import KZ_TZ, FixedClock
from backend.context import AppContext
from backend.eligibility.categories import put_category
from backend.fleet.allowlist import bundle_content
from backend.fleet.tables import TerminalRow
from backend.imports.model import ImportKind
from backend.imports.services import run_import
from backend.ingest.tables import MealEventRow
from backend.notify.delivery_tables import ParentNoticeRow
from backend.roster.tables import Parent, Pupil, School, Supplier
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork
from backend.vouchers.services import activate
from backend.vouchers.tables import Voucher
from backend.worker import tick

from .conftest import CAT, District

pytestmark = pytest.mark.postgres
MONTHS = [date(2026, m, 1) for m in (9, 10, 11, 12)] + [date(2027, m, 1) for m in (1, 2, 3, 4, 5)]
FULL, STATE, FAMILY = 100_000, 60_000, 40_000  # tiyn per meal; plan 2 splits 60/40
EMERGENCY = "emergency_affected"


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), KZ_TZ)


@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
def test_a_school_year_holds_together(
    ctx: AppContext,
    clock: FixedClock,
    almaly: District,
) -> None:
    clock.set(at(date(2026, 8, 25)))
    a, b = almaly.make_school(name="School A"), almaly.make_school(name="School B")
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        supplier = Supplier(
            bin="210987654321",
            name="Dämdi As LLP",
            iban="KZ86125KZT5004100100",
            bank_bik="KCJBKZKX",
            bank_name="Bank",
        )
        s.add(supplier)
        s.flush()
        terminals = {}
        for school_id in (a, b):
            school = s.get(School, school_id)
            assert school is not None
            school.supplier_id = supplier.id
            t = TerminalRow(
                school_id=school_id, canteen_id=1, public_key=uuid.uuid4().bytes * 2, kid=uuid.uuid4().bytes[:8],
                status="active", enrolled_at=at(date(2026, 8, 20)),
            )  # fmt: skip
            s.add(t)
            s.flush()
            terminals[school_id] = t.id
        for plan, state in ((1, FULL), (2, STATE)):
            s.add(
                TariffRow(
                    school_id=None,
                    plan=plan,
                    slot=1,
                    valid_from=date(2026, 9, 1),
                    amount_tiyn=FULL,
                    state_share_tiyn=state,
                )
            )
        s.commit()
    with UnitOfWork(ctx.session_factory) as uow:
        put_category(uow, EMERGENCY, name_kk="Төтенше", name_ru="ЧС", plan=2, in_register=False, active=True)
    sa, sb = almaly.people(a), almaly.people(b)
    pupil_in, parent_of = almaly.make_pupil, almaly.make_parent
    pupil = {
        "p1": pupil_in(a, grade=6), "p2": pupil_in(a, grade=7), "p3": pupil_in(a, grade=8),
        "p4": pupil_in(a, grade=5), "s5": pupil_in(a, grade=6), "s6": pupil_in(b, grade=9),
        "p7": pupil_in(b, grade=2),
    }  # fmt: skip
    parent = {
        "m1": parent_of(), "m2": parent_of(), "f3": parent_of(), "m4": parent_of(phone=None),
        "m5": parent_of(), "f7": parent_of(),
    }  # fmt: skip
    family = {"p1": "m1", "p2": "m2", "p3": "f3", "p4": "m4", "s5": "m5", "s6": "m5", "p7": "f7"}
    for child, par in family.items():
        almaly.link(pupil[child], parent[par], "father" if par.startswith("f") else "mother")
        if child != "p4":
            almaly.registered(pupil[child])
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        phone: dict[str, str] = {}
        for k, v in parent.items():
            row = s.get(Parent, v)
            assert row is not None
            phone[k] = row.phone or ""

    def category(child: str) -> str | None:
        return None if child == "p7" else EMERGENCY if child == "p4" else CAT

    def listed(month: date) -> tuple[list[str], list[str]]:
        early, late = month < date(2026, 12, 1), month >= date(2027, 2, 1)
        on_a = ["p1"] if early else []
        on_a += ["p2"] if early or late else []
        on_b = ["s6", "p7"] + ([] if early else ["p1"])
        return [*on_a, "p3", "p4", "s5"], on_b

    def activate_all() -> None:
        with UnitOfWork(ctx.session_factory) as uow:
            s = uow.session
            for child, par in family.items():
                v = s.scalars(
                    select(Voucher)
                    .where(Voucher.pupil_id == pupil[child])
                    .order_by(Voucher.school_year.desc())
                ).first()
                if v is not None and v.status == "awaiting_activation":
                    who = Principal("parent", parent[par], pupil_ids=frozenset({pupil[child]}))
                    activate(uow, who, v.id, clock.now())
            s.commit()

    def serve(day: date) -> None:
        with UnitOfWork(ctx.session_factory) as uow:
            s = uow.session
            for v in s.scalars(select(Voucher).where(Voucher.status == "active").order_by(Voucher.id)):
                s.add(meal(v.school_id, v.id, v.pupil_id, v.plan, day))
            s.commit()

    def meal(school_id: int, voucher_id: int, pupil_id: int, plan: int, day: date) -> MealEventRow:
        served = at(day, 12)
        return MealEventRow(
            id=uuid.uuid4().bytes, terminal_id=terminals[school_id], school_id=school_id, voucher_id=voucher_id,
            pupil_id=pupil_id, plan=plan, slot=1, served_at=served, local_date=day, method=1, token_serial=1,
            wall_trusted=True, boot_id=b"\0" * 16, seq=1, received_at=served, status="ok", flags=[],
        )  # fmt: skip

    def states(year: int = 2026) -> dict[str, tuple[str, int] | None]:
        with UnitOfWork(ctx.session_factory) as uow:
            s = uow.session
            out: dict[str, tuple[str, int] | None] = {}
            for child, pid in pupil.items():
                stmt = select(Voucher).where(Voucher.pupil_id == pid, Voucher.school_year == year)
                v = s.scalars(stmt).first()
                out[child] = None if v is None else (v.status, v.school_id)
            return out

    seen: dict[date, dict[str, tuple[str, int] | None]] = {}
    for month in MONTHS:
        clock.set(at(month + timedelta(days=1)))
        on_a, on_b = listed(month)
        almaly.run_list(a, [(pupil[c], category(c)) for c in on_a], month, sa)
        almaly.run_list(b, [(pupil[c], category(c)) for c in on_b], month, sb)
        if month == MONTHS[0]:
            for par in ("m1", "m2", "m5"):
                assert almaly.reply(phone[par], "3#1") == "agreed"
            assert almaly.reply(phone["f3"], "3#2") == "declined"
        activate_all()
        tick(ctx)  # last month's acts (the timesheet step), timers, the outbox
        clock.set(at(month.replace(day=10), 13))
        serve(month.replace(day=10))
        if month == date(2026, 10, 1):
            clock.set(at(date(2026, 10, 12)))
            with ctx.session_factory() as s:  # m4's number arrives with the national database import
                p = s.get(Parent, parent["m4"])
                assert p is not None
                csv = f"iin,full_name,phone\n{p.iin},{p.full_name},+77019990004\n".encode()
                run_import(
                    uow,
                    ImportKind.PARENTS,
                    csv,
                    "p.csv",
                    actor="import",
                    settings=ctx.settings,
                    now=clock.now(),
                )
                s.commit()
            phone["m4"] = "+77019990004"
            assert almaly.reply(phone["m4"], "3#1") == "agreed"
            activate_all()
        if month == date(2026, 11, 1):
            clock.set(at(date(2026, 11, 15)))
            with ctx.session_factory() as s:  # p1 moves to school B
                mover = s.get(Pupil, pupil["p1"])
                assert mover is not None
                rows = f"iin,full_name,grade,class_name,school_bin\n{mover.iin},{mover.full_name},6,6A,{sa_bin(ctx, b)}\n"
                rep = run_import(
                    uow,
                    ImportKind.PUPILS,
                    rows.encode(),
                    "x.csv",
                    actor="import",
                    settings=ctx.settings,
                    now=clock.now(),
                )
                s.commit()
                assert rep.moved == 1
        clock.set(at(month.replace(day=20), 13))
        serve(month.replace(day=20))
        clock.set(at(month.replace(day=25)))
        seen[month] = states()
        if month == MONTHS[0]:
            late_voucher = seen[month]["p2"]

    # voucher states per month (status, school)
    act = ("active", a)
    moved = ("active", b)
    expected_p2 = {m: ("suspended", a) if m in (date(2026, 12, 1), date(2027, 1, 1)) else act for m in MONTHS}
    for m in MONTHS:
        assert seen[m]["p1"] == (act if m < date(2026, 11, 1) else moved), m
        assert seen[m]["p2"] == expected_p2[m], m
        assert seen[m]["p3"] is None, m
        assert seen[m]["p4"] == (None if m == MONTHS[0] else act), m
        assert (seen[m]["s5"], seen[m]["s6"], seen[m]["p7"]) == (act, ("active", b), ("active", b)), m
    assert late_voucher == act

    # September's money steps, with a late batch after the head signed
    sept = MONTHS[0]
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        [first] = steps.states(s, [a], sept, at(date(2026, 10, 2)))
        assert first.version == 1 and first.done[0][0] == "generated"
    clock.set(at(date(2026, 10, 5)))
    with UnitOfWork(ctx.session_factory) as uow:
        steps.advance(uow, sa.pedagogue, a, sept, 1, steps.Step.SUBMITTED, clock.now())
        steps.advance(uow, sa.head, a, sept, 1, steps.Step.HEAD_SIGNED, clock.now())
        v2 = uow.session.scalars(select(Voucher.id).where(Voucher.pupil_id == pupil["p2"])).one()
        uow.session.add(meal(a, v2, pupil["p2"], 1, date(2026, 9, 25)))  # the late batch
        uow.commit()
    clock.set(at(date(2026, 10, 8)))
    tick(ctx)  # a new version of September's act: to be signed again
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        [second] = steps.states(s, [a], sept, clock.now())
        assert (second.version, second.next_step) == (2, "submitted")
        for who, step in (
            (sa.pedagogue, "submitted"),
            (sa.head, "head_signed"),
            (sa.supplier, "supplier_signed"),
            (sa.district, "district_accepted"),
        ):
            steps.advance(uow, who, a, sept, 2, steps.Step(step), clock.now())
        for who, step in (
            (sb.pedagogue, "submitted"),
            (sb.head, "head_signed"),
            (sb.supplier, "supplier_signed"),
            (sb.district, "district_accepted"),
        ):
            steps.advance(uow, who, b, sept, 1, steps.Step(step), clock.now())
        [late] = [r for r in steps.states(s, [a], sept, clock.now())]
        assert [(st, is_late) for st, _, _, is_late in late.done][:2] == [
            ("generated", False),
            ("submitted", False),
        ]
        reg = register.produce(uow, "Almaly", sept, clock.now())
    body = register.to_json(reg)
    assert [
        (ln["school_bin"], ln["act_version"], ln["meals"], ln["state_tiyn"], ln["family_tiyn"])
        for ln in body["lines"]
    ] == [
        (sa_bin(ctx, a), 2, 7, 7 * FULL, 0),  # p1, p2, s5 on the 10th and 20th, and p2's late meal
        (sa_bin(ctx, b), 1, 4, 4 * FULL, 0),  # s6, p7
    ]
    assert body["lines"][0]["iban"] == "KZ86125KZT5004100100" and body["held_meals"] == []

    # billable meals and amounts per month: (meals, amount, state, family)
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        got = {}
        for m in MONTHS:
            acts = compute_acts(s, [a, b], m)
            got[m] = tuple(
                sum(getattr(x, f) for x in acts.values())
                for f in ("meals", "amount_tiyn", "state_tiyn", "parent_tiyn")
            )
        nov = {k: v.meals for k, v in compute_acts(s, [a, b], date(2026, 11, 1)).items()}

    def money(plan1: int, plan2: int) -> tuple[int, int, int, int]:
        return (plan1 + plan2, (plan1 + plan2) * FULL, plan1 * FULL + plan2 * STATE, plan2 * FAMILY)

    assert (
        got
        == {
            MONTHS[0]: money(11, 0),
            MONTHS[1]: money(10, 1),  # m4's child from the 20th
            MONTHS[2]: money(10, 2),
            MONTHS[3]: money(8, 2),  # p2 suspended
            MONTHS[4]: money(8, 2),
            **{m: money(10, 2) for m in MONTHS[5:]},
        }
    )
    assert nov == {a: 7, b: 5}  # p1 eats at A on the 10th, at B on the 20th

    # the year ends: every voucher expires, the parent is told, nothing is served or billed in summer
    clock.set(at(date(2027, 6, 1), 1))
    tick(ctx)
    assert {c: st for c, st in states().items() if st} == {
        "p1": ("expired", b), "p2": ("expired", a), "p4": ("expired", a), "s5": ("expired", a),
        "s6": ("expired", b), "p7": ("expired", b),
    }  # fmt: skip
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        kinds = s.execute(
            select(ParentNoticeRow.kind, func.count())
            .where(ParentNoticeRow.kind.like("voucher_%"))
            .group_by(ParentNoticeRow.kind)
        )
        told = {kind: n for kind, n in kinds}
        assert told == {"voucher_suspended": 1, "voucher_expired": 6}
        sms = {
            k: s.scalars(
                select(SmsMessage.kind)
                .where(SmsMessage.phone == ph, SmsMessage.direction == "out")
                .order_by(SmsMessage.id)
            ).all()
            for k, ph in phone.items()
        }
    assert sms == {
        "m1": ["request", "agreed"], "m2": ["request", "agreed"], "f3": ["request", "declined"],
        "m4": ["request", "agreed"], "m5": ["request", "agreed"], "f7": [],
    }  # fmt: skip

    # summer: no school allowlists any voucher, no month has a meal to bill
    clock.set(at(date(2027, 7, 15)))
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        assert [len(bundle_content(s, school, clock.now()).entries) for school in (a, b)] == [0, 0]
        summer = [date(2027, m, 1) for m in (6, 7, 8)]
        assert [sum(x.meals for x in compute_acts(s, [a, b], m).values()) for m in summer] == [0, 0, 0]

    # the next September's lists form new vouchers; last year's decline and consents are not carried over
    clock.set(at(date(2027, 9, 2)))
    for child in family:
        if child != "p4":
            almaly.registered(pupil[child], valid_to=date(2028, 5, 31))
    next_a, next_b = ["p2", "p3", "p4", "s5"], ["p1", "s6", "p7"]
    _, sept_a = almaly.run_list(a, [(pupil[c], category(c)) for c in next_a], date(2027, 9, 1), sa)
    _, sept_b = almaly.run_list(b, [(pupil[c], category(c)) for c in next_b], date(2027, 9, 1), sb)
    assert (sept_a.consent.requests, sept_a.consent.remembered) == (4, 0)  # f3 is asked again
    assert (sept_b.consent.requests, sept_b.consent.joined, sept_b.vouchers_formed) == (1, 1, 1)
    assert states(2027) == {
        "p1": None, "p2": None, "p3": None, "p4": None, "s5": None, "s6": None,
        "p7": ("awaiting_activation", b),
    }  # fmt: skip
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        counts = {
            k: s.scalar(select(func.count()).where(SmsMessage.phone == ph, SmsMessage.direction == "out"))
            for k, ph in phone.items()
        }
    assert counts == {"m1": 3, "m2": 3, "f3": 3, "m4": 3, "m5": 3, "f7": 0}


def sa_bin(ctx: AppContext, school_id: int) -> str:
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        school = s.get(School, school_id)
        assert school is not None
        return school.bin
