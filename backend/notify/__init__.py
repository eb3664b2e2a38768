"""Parent notifications: a channel interface and the outbox adapter; each served meal tells the parent once."""
