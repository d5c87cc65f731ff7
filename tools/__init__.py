"""Build and test helpers for the course repository (stdlib only: tasks.py imports them)."""
