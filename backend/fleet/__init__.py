"""Terminal fleet: enrolment, device authentication, health, allowlist and trust-list distribution."""
