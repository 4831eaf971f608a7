"""dashboards: see README.md, "Not built yet"."""
