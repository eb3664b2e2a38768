"""Schools, vouchers and terminals written straight into a database, and terminals' signed meal batches."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg

from backend.clock import KZ_TZ
from shared_crypto import DeviceAuth, MealBatch, MealEvent, Method, SigningKey, sign_batch, sign_device_auth

BATCHES_PATH = "/api/terminal/v1/meal-batches"


@dataclass(frozen=True)
class Terminal:
    terminal_id: int
    school_id: int
    key: SigningKey
    vouchers: tuple[int, ...]

    def headers(self, method: str, path: str) -> dict[str, str]:
        token = sign_device_auth(self.key, DeviceAuth(self.terminal_id, f"{method} {path}", int(time.time())))
        return {"X-SW-Device-Auth": token, "Content-Type": "application/cose"}


def seed_schools(dsn: str, schools: int, pupils: int) -> list[Terminal]:
    """`schools` schools with a lunch slot, `pupils` active vouchers each and one enrolled terminal."""
    enrolled = datetime.now(UTC) - timedelta(days=60)
    terminals = []
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for s in range(1, schools + 1):
            key = SigningKey.generate()
            cur.execute(
                "INSERT INTO schools (id, bin, name, region, district) VALUES (%s, %s, %s, 'Almaty', 'Scale')",
                (s, f"{s:012d}", f"School {s}"),
            )
            cur.execute(
                "INSERT INTO meal_slots (school_id, slot, start_minute, end_minute) VALUES (%s, 1, 660, 780)",
                (s,),
            )
            cur.execute(
                "INSERT INTO terminals (id, school_id, canteen_id, public_key, kid, hostname, status, software_version,"
                " backlog, faults, enrolled_at) VALUES (%s, %s, 1, %s, %s, 'scale', 'active', '1', 0, '[]', %s)",
                (s, s, key.public.raw, key.kid, enrolled),
            )  # fmt: skip
            base = s * 100_000
            ids = range(base, base + pupils)
            with cur.copy(
                "COPY pupils (id, iin, full_name, grade, class_name, school_id, pseudonym, display) FROM STDIN"
            ) as copy:
                for p in ids:
                    copy.write_row((p, f"{p:012d}", f"Pupil {p}", 3, "3A", s, p.to_bytes(16, "big"), "P. 3A"))
            with cur.copy(
                "COPY vouchers (id, pupil_id, school_id, school_year, plan, status, valid_until, min_serial,"
                " next_serial, updated_at) FROM STDIN"
            ) as copy:
                for p in ids:
                    copy.write_row((p, p, s, 2026, 1, "active", date(2027, 5, 31), 0, 1, enrolled))
            terminals.append(Terminal(s, s, key, tuple(ids)))
        conn.commit()
    return terminals


def school_days(n: int, today: date | None = None) -> list[date]:
    """The `n` weekdays before today, oldest first."""
    days: list[date] = []
    d = (today or datetime.now(UTC).date()) - timedelta(days=1)
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    return sorted(days)


def meal_batches(
    t: Terminal, days: list[date], size: int, *, local_hour: int = 12, slot: int = 1
) -> list[tuple[bytes, int]]:
    """(signed batch, events): one meal per voucher and day in `slot`, from `local_hour`:00 local time
    (lunch at 12:00 by default), one every 5 seconds."""
    boot = os.urandom(16)
    events: list[MealEvent] = []
    for d in days:
        start = datetime(d.year, d.month, d.day, local_hour, 0, tzinfo=KZ_TZ)
        for i, v in enumerate(t.vouchers):
            wall = int((start + timedelta(seconds=5 * i)).timestamp() * 1000)
            events.append(
                MealEvent(os.urandom(16), len(events) + 1, boot, wall - 1_000_000, wall, True, True, "SERVED",
                          Method.QR, v, 1, slot, d.year * 10000 + d.month * 100 + d.day)
            )  # fmt: skip
    return [
        (sign_batch(t.key, MealBatch(t.terminal_id, int(time.time()), tuple(events[i : i + size]))), len(events[i : i + size]))
        for i in range(0, len(events), size)
    ]  # fmt: skip


def post_batch(client: httpx.Client, t: Terminal, body: bytes) -> httpx.Response:
    return client.post(BATCHES_PATH, content=body, headers=t.headers("POST", BATCHES_PATH))
