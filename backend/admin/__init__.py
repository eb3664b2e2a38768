"""Admin views that span areas: the SMS outbox."""
