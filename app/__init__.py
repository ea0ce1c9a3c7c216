"""Touchbase: the contact-frequency service."""
