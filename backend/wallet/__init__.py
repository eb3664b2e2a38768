"""Wallet: pupils and the monthly eligibility lists (model, services, state registry, API)."""
