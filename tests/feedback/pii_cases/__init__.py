"""Labelled sentences for the personal-details detector, and how to score it on them."""
