"""Billing: plans, Stripe, webhooks and the subscription state that gates a workspace.

See billing/README.md."""
