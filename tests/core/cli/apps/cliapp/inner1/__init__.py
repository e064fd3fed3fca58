"""A package whose ``__init__`` holds the application."""

from gateway import App

application = App(__name__)
