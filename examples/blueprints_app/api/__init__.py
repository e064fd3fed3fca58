"""Nested blueprints: ``api`` holds the ``items`` blueprint twice (as
``v1`` and ``v2``), each under its own prefix, name and URL defaults."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException

from gateway import Blueprint

from .items import bp as items_bp

bp = Blueprint("api", __name__, url_prefix="/api")
bp.register_blueprint(
    items_bp, url_prefix="/v1", name="v1", url_defaults={"version": 1}
)
bp.register_blueprint(
    items_bp, url_prefix="/v2", name="v2", url_defaults={"version": 2}
)


@bp.route("/")
def index():
    from gateway import url_for

    return {
        "versions": [url_for(".v1.list_items"), url_for(".v2.list_items")],
    }


@bp.errorhandler(HTTPException)
def json_error(error: HTTPException):
    """Errors raised by API views (and nested ones) are JSON."""
    return {"error": error.name, "status": error.code}, error.code


# Handlers registered by code are looked up before handlers registered by
# class, in every scope: without this line the site's app-wide 404 page would
# win over the class handler above for a 404 raised in an API view.
bp.register_error_handler(404, json_error)
