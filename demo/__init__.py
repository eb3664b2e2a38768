"""The demo: a whole canteen day told end to end. It may import every side; nothing imports it."""
