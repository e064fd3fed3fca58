"""A file in a directory whose name is not a valid module name."""

from gateway import App

app = App("standalone")
