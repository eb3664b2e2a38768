"""Service layer: thin use cases over the domain model and a unit of work."""
