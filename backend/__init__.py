"""Back end of the school-meal voucher scheme (wallet, operations, reporting)."""
