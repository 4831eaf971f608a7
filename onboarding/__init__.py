"""onboarding: see README.md, "Not built yet"."""
