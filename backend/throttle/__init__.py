"""Attempt counters with back-off, kept in the database so every app process and worker shares them."""
