"""billing: see README.md, "Not built yet"."""
