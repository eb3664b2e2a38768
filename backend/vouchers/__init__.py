"""Vouchers: one per pupil per school year; states, audit trail, QR token issuance, parent API."""
