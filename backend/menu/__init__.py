"""Menus: what each school serves per day and meal slot, in Kazakh and Russian with allergens; read by
parents (their children's schools) and suppliers (the schools they serve, beside their ratings)."""
