"""Adapters, one module per kind: ORM base and types, SQL dialect helpers, SMS gateways, state register, eGov."""
