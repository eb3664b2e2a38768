"""Meal ingestion: signed event batches from terminals, idempotent storage, flags held out of billing."""
