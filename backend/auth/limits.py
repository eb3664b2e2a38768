"""Sign-in limits. Cool-downs, never locks: the longest wait is an hour, and counts are per account or
phone *and* per client address, so a stranger's guesses slow the stranger, not the real user.

Parent one-time codes (6 digits, 5 minutes, at most 3 live per phone; a new one retires the oldest):
- a code takes at most CODE_TRIES_PER_ADDRESS wrong tries from one address and CODE_TRIES wrong tries
  in all, then it is dead (the parent asks for another; the SMS reaches only the parent);
- sending: OTP_SEND_PAIR per phone and address, OTP_SEND_ADDRESS per address, OTP_SEND_PHONE and
  OTP_SEND_PHONE_DAY per phone across addresses (no SMS bombing of one parent, and a bound on the codes
  a guesser with any number of addresses can try against);
- wrong codes: OTP_FAIL_PAIR per phone and address, OTP_FAIL_ADDRESS per address across phones.
Every limit applies to any phone number, on record or not, so answers do not tell them apart.
docs/security.md works out the brute-force odds these give.
"""

from __future__ import annotations

from datetime import timedelta

from backend.throttle.store import Rule

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# Admin passwords: per login name (known or not) and per client address.
LOGIN_ACCOUNT = Rule("login-account", free=5, window=DAY, base=30 * timedelta(seconds=1), cap=15 * MINUTE)
LOGIN_ADDRESS = Rule("login-address", free=30, window=HOUR, base=MINUTE, cap=HOUR)

CODE_TRIES = 5
CODE_TRIES_PER_ADDRESS = 3
OTP_MAX_LIVE = 3
OTP_SEND_PAIR = Rule("otp-send", free=3, window=15 * MINUTE, base=15 * MINUTE, cap=15 * MINUTE)
OTP_SEND_ADDRESS = Rule("otp-send-address", free=20, window=HOUR, base=HOUR, cap=HOUR)
OTP_SEND_PHONE = Rule("otp-send-phone", free=5, window=HOUR, base=HOUR, cap=HOUR)
OTP_SEND_PHONE_DAY = Rule("otp-send-phone-day", free=10, window=DAY, base=DAY, cap=DAY)
OTP_FAIL_PAIR = Rule("otp-fail", free=5, window=DAY, base=MINUTE, cap=HOUR)
OTP_FAIL_ADDRESS = Rule("otp-fail-address", free=30, window=HOUR, base=MINUTE, cap=HOUR)
# Wrong tries at one code from one address (key: code id and address); the window outlives any code.
CODE_ADDRESS = Rule("otp-code", free=CODE_TRIES_PER_ADDRESS, window=HOUR, base=HOUR, cap=HOUR)
