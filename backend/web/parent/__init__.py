"""The parent's pages: sign-in, children and vouchers, consent, meals and feedback, notices, passes."""
