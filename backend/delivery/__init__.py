"""Outbound documents to the state systems (daily report, e-Otinish appeals): queued in the transaction
that makes them, pushed by the worker through an adapter, retried with back-off, receipted."""
