"""Carevoice on Citus (distributed PostgreSQL): everything that runs only when the database
is a Citus coordinator, and does nothing on plain PostgreSQL.

- `base`: the database backend under django-tenants' (settings.ORIGINAL_BACKEND). Its schema
  editor names the constraints Django writes inline in `ADD COLUMN`, which Citus requires.
- `cloning`: the template clone, one statement at a time, sequences set on the coordinator.
- `distribution`: what `migrate` does last: schema-based sharding on, organisation schemas
  distributed (one worker each), hub tables Citus-managed on the coordinator so that
  publishing is one two-phase commit. infra/SCALING.md says why each table is where it is.
"""
