"""Alerts: rules, instant alerts, digests, response targets and safeguarding alerts, each
sent once. See alerts/README.md."""
