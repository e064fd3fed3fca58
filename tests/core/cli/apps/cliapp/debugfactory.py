"""A factory that records GATEWAY_DEBUG as it is while the factory runs."""

import os

from gateway import App


def create_app():
    app = App("debugfactory")
    app.config["DEBUG_ENV_AT_CREATION"] = os.environ.get("GATEWAY_DEBUG")
    return app
