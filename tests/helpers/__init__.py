"""Reusable test helpers (running a real daemon, short socket paths)."""
