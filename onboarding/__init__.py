"""Onboarding: service import, staff invitations, network invitations, the checklist, and
training (its public-schema part is the `training` app in onboarding/training/). Sign-up
has its own app in onboarding/signup/."""
