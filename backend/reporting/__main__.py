"""Nightly export of the daily report for the national education database.

`python -m backend.reporting DATE OUT_DIR [--district NAME]` writes OUT_DIR/daily-DATE.json and .csv for
every school (or one district's), reading SM_DATABASE_URL like the app. Exit 2 on a bad date.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import select

from backend.clock import SystemClock
from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.roster.tables import School

from .services import daily_report, write_daily_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.reporting", description=__doc__)
    parser.add_argument("date", help="the school-local day, YYYY-MM-DD")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--district", help="only this district's schools")
    args = parser.parse_args(argv)
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"BAD_DATE: {args.date!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    engine = make_engine(Settings.from_env().database_url)
    try:
        with make_session_factory(engine)() as session:
            stmt = select(School.id)
            if args.district:
                stmt = stmt.where(School.district == args.district)
            school_ids = list(session.scalars(stmt))
            report = daily_report(session, day, school_ids, SystemClock().now())
        for path in write_daily_files(report, args.out_dir):
            print(path)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
