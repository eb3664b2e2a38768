"""Import of schools, pupils, parents and links from the national education database's CSV/JSON exports."""
