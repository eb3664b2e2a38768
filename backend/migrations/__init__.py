"""Alembic migrations: 0001_wallet (wallet), 0002_operations (fleet, ingest...), 0003_reporting."""
