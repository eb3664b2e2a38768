"""School calendar: school days, meal slots (local times) and tariffs per plan, slot and period."""
