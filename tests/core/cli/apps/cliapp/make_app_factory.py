"""Only a ``make_app`` factory: discovery calls it without arguments."""

from gateway import App


def make_app():
    return App("made_by_make_app")
