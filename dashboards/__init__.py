"""Dashboards: rollups, the live and network Dash apps, and reports. See README.md, "How it
is built"."""
