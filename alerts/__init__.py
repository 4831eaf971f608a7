"""alerts: see README.md, "Not built yet"."""
