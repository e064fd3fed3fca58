"""Raises while being imported (not an ImportError)."""

raise RuntimeError("broken module refuses to load")
