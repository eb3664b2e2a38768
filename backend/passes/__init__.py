"""The pupil's pass: a one-time link installs it on the child's phone, where it shows a dynamic QR
from pre-signed, short-window voucher tokens, offline too."""
