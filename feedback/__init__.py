"""feedback: see README.md, "Not built yet"."""
