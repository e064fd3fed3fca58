"""A module with neither an application nor a factory."""

VALUE = 42
