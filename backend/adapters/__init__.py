"""Adapters: ORM tables, SMS gateways, eGov sign-in."""
