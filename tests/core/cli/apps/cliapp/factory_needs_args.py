"""A ``create_app`` that cannot be called without arguments."""

from gateway import App


def create_app(tenant):
    return App(tenant)
