"""Factories in every shape ``--app module:factory(...)`` must handle."""

from gateway import App


def create_app():
    return App("app")


def create_app2(foo, bar):
    return App("_".join(["app2", foo, bar]))


def create_app3(foo, *, bar=1):
    return App(f"app3_{foo}_{bar}")


def create_with_type_error():
    # A bug inside the factory must surface as itself, not as "wrong args".
    return len(42)


def no_app():
    pass


not_callable = "a string"
