"""Serve the example on the development server: ``python -m blueprints_app``."""

from . import create_app

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5000)
