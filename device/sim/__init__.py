"""Simulated twins of the terminal's hardware and clock, for `python -m device run --simulate` and tests."""
