"""Pytest fixtures that start the fake network servers (filled in with the fakes)."""
