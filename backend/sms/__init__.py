"""SMS: the gateway interface, its outbox and HTTP adapters, the official texts."""
