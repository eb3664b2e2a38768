"""Every staff role of the demo district, for `make serve` and the browser tests: the accounts `seed`
made, plus the canteen's staff, and the supplier's account tied to the demo supplier. Returns the
sign-ins (login, password, role) to print."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.model import Role
from backend.auth.services import create_admin
from backend.auth.tables import Admin
from backend.roster.tables import Supplier
from demo import data as D

CANTEEN = ("canteen.staff", Role.CANTEEN_STAFF)


def seed_staff(session_factory: sessionmaker[Session], school_id: int) -> list[tuple[str, str, Role]]:
    """Idempotent: a second call finds the accounts and changes nothing."""
    with session_factory() as session:
        login, role = CANTEEN
        if session.scalar(select(Admin.id).where(Admin.login == login)) is None:
            create_admin(session, login=login, password=D.PASSWORD, role=role, school_ids=(school_id,))
        supplier_id = session.scalar(select(Supplier.id).where(Supplier.bin == D.SUPPLIER_BIN))
        account = session.scalars(select(Admin).where(Admin.role == Role.SUPPLIER.value)).first()
        if account is not None and supplier_id is not None:
            account.supplier_id = supplier_id
        session.commit()
    return [(login, D.PASSWORD, role) for login, role in [*D.STAFF, CANTEEN]]
