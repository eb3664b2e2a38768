"""The canteen terminal: offline decisions, journal, sync, hardware drivers."""
