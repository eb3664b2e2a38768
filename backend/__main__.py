"""The back end's command line: `python -m backend migrate | create-admin | categories | tariffs | serve`.

A new server: migrate the database, create the first district admin, start. `serve` refuses to start on
a database that is not migrated, with one line saying so. `categories list|add|retire` keeps the
national eligibility categories and `tariffs list|add` the default tariffs every school without its own
is billed by (no staff role is national, so no page or API route changes either).
Settings come from the SM_* environment."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from datetime import date

from .auth.accounts import first_admin
from .billing.model import format_tenge
from .calendar import services as calendar
from .calendar.model import Tariff, tariff_periods, tiyn_of
from .config import Settings
from .db import SchemaNotCurrent, check_schema, init_schema, make_engine, make_session_factory
from .eligibility import categories
from .errors import DomainError
from .roster.grades import Plan
from .unit_of_work import UnitOfWork


def _migrate(settings: Settings) -> int:
    init_schema(settings.database_url)
    print(f"migrated {settings.database_url.split('@')[-1]} to the latest revision")
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("SM_ADMIN_PASSWORD")
    if env:
        return env
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("the passwords differ")
    return first


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)  # before asking for a password that could not be stored
        password = _password(args)
        if len(password) < 12:
            print("error: the password needs at least 12 characters", file=sys.stderr)
            return 2
        with UnitOfWork(make_session_factory(engine)) as uow:
            admin = first_admin(uow, login=args.login, password=password, district=args.district)
    except (SchemaNotCurrent, DomainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"district admin {admin.login} of {args.district} created; sign in at /staff")
    return 0


PLANS = {"free": Plan.FREE, "discounted": Plan.DISCOUNTED}


def _categories(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
        with UnitOfWork(make_session_factory(engine)) as uow:
            if args.action == "add":
                info = categories.put_category(
                    uow,
                    args.code,
                    name_kk=args.kk,
                    name_ru=args.ru,
                    plan=PLANS[args.plan],
                    in_register=not args.not_in_register,
                    active=True,
                )
                print(f"category {info.code} saved: {args.plan} plan")
            elif args.action == "retire":
                info = categories.retire_category(uow, args.code)
                print(f"category {info.code} retired: no new entries; those made keep it")
            else:
                for c in categories.all_categories(uow.session).values():
                    plan = "free" if c.plan is Plan.FREE else "discounted"
                    register = "register" if c.in_register else "list-only"
                    state = "active" if c.active else "retired"
                    print(f"{c.code}\t{plan}\t{register}\t{state}\t{c.name_kk} / {c.name_ru}")
    except (SchemaNotCurrent, DomainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _default_tariffs(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
        with UnitOfWork(make_session_factory(engine)) as uow:
            if args.action == "add":
                amount = tiyn_of(args.amount)
                plan = PLANS[args.plan]
                if (plan == Plan.DISCOUNTED) != (args.state_share is not None):
                    print("error: --state-share is given for the discounted plan only", file=sys.stderr)
                    return 2
                # on the free plan the state pays all of it
                share = amount if plan == Plan.FREE else tiyn_of(args.state_share)
                calendar.add_tariff(uow, Tariff(None, plan, args.slot, args.valid_from, amount, share))
                print(f"default tariff saved: {args.plan} plan, slot {args.slot}, from {args.valid_from}")
            else:
                names = {v: k for k, v in PLANS.items()}
                for p in tariff_periods(calendar.load_tariffs(uow.session, ())):
                    t = p.tariff
                    to = p.valid_to.isoformat() if p.valid_to else "…"
                    print(
                        f"{names[Plan(t.plan)]}\tslot {t.slot}\t{t.valid_from.isoformat()}–{to}\t"
                        f"{format_tenge(t.amount_tiyn)}\tstate {format_tenge(t.state_share_tiyn)}"
                    )
    except (SchemaNotCurrent, DomainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
    except SchemaNotCurrent as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    import uvicorn

    # uvloop and httptools named, not left to "auto": without them (plain asyncio and h11) a request costs
    # several times the CPU, and a kept-alive answer can wait for the client's delayed ACK.
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="asyncio" if sys.platform == "win32" else "uvloop",  # uvloop is not built for Windows
        http="httptools",
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the database (SM_DATABASE_URL) to the latest schema")
    create = sub.add_parser("create-admin", help="create a district admin (the first one on a new server)")
    create.add_argument("--login", required=True)
    create.add_argument("--district", required=True, help="the district's name as the schools file has it")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    cats = sub.add_parser("categories", help="list, add or retire the national eligibility categories")
    actions = cats.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every category with its plan, register check and state")
    add = actions.add_parser("add", help="add a category or change one (it becomes active)")
    add.add_argument("code", help="2–30 of a-z, 0-9, _ starting with a letter, e.g. emergency_affected")
    add.add_argument("--kk", required=True, help="its name in Kazakh")
    add.add_argument("--ru", required=True, help="its name in Russian")
    add.add_argument("--plan", required=True, choices=sorted(PLANS), help="the plan it gives")
    add.add_argument(
        "--not-in-register",
        action="store_true",
        help="the state register does not hold it: the approved list itself confirms the pupil",
    )
    retire = actions.add_parser("retire", help="no new entries under the category; those made keep it")
    retire.add_argument("code")
    tariffs = sub.add_parser("tariffs", help="list or add the default tariffs (schools without their own)")
    tariff_actions = tariffs.add_subparsers(dest="action", required=True)
    tariff_actions.add_parser("list", help="every default period with its last day")
    new = tariff_actions.add_parser("add", help="a new default period from a day on (it ends the one before)")
    new.add_argument("--plan", required=True, choices=sorted(PLANS))
    new.add_argument("--slot", required=True, type=int, help="the meal slot's number, 1..8")
    new.add_argument("--from", dest="valid_from", required=True, type=_day, help="its first day, YYYY-MM-DD")
    new.add_argument("--amount", required=True, help="the meal's price in tenge, e.g. 900 or 900,50")
    new.add_argument("--state-share", help="what the state pays, in tenge (discounted plan only)")
    serve = sub.add_parser("serve", help="start the server (refuses an unmigrated database)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "create-admin":
        return _create_admin(settings, args)
    if args.command == "categories":
        return _categories(settings, args)
    if args.command == "tariffs":
        return _default_tariffs(settings, args)
    return _serve(settings, args)


if __name__ == "__main__":
    sys.exit(main())
