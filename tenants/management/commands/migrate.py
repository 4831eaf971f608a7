from __future__ import annotations

from tenants.management.commands.migrate_schemas import Command

__all__ = ["Command"]
