"""A plug-in module whose import fails part-way."""

import click  # noqa: F401

raise RuntimeError("plugin module is broken")
