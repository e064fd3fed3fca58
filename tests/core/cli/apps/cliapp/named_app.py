"""The application under the name tried first, next to another App attribute."""

from gateway import App

app = App("named_app")
other = App("other")
