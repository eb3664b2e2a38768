"""What an SMS row's status and direction can be (stored as the values)."""

from __future__ import annotations

import enum


class SmsDirection(enum.StrEnum):
    OUT = "out"
    IN = "in"


class SmsStatus(enum.StrEnum):
    QUEUED = "queued"  # waits for the dispatcher
    SENDING = "sending"  # claimed by a dispatcher, with the provider now
    SENT = "sent"
    FAILED = "failed"  # a sealed code that no longer opens (the secret was rotated): never sent
    RECEIVED = "received"  # an inbound message that was acted on
    IGNORED = "ignored"  # an inbound message from an unknown number


OTP_KIND = "otp"  # one-time codes: never listed to anyone
