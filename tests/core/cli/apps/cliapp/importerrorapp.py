"""Creates an application, then fails to import one of its dependencies."""

from gateway import App

app = App("importerrorapp")

import cliapp_missing_dependency  # noqa: E402,F401
