"""The canteen terminal: offline decisions, journal, sync, hardware drivers."""

# What terminals report at enrolment and in health; equal to pyproject's version (a test holds them together).
SOFTWARE_VERSION = "0.1.0"
