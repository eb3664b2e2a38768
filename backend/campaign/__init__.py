"""The month's campaign after a list is cross-checked: vouchers for grades 1–4, SMS consent for 5–11."""
