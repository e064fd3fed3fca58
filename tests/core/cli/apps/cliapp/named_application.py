"""The application under the second name tried, ``application``."""

from gateway import App

application = App("named_application")
spare = App("spare")
