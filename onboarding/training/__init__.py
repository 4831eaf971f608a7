"""Training sessions and bookings, in the public schema (label `training`)."""
