"""A blueprint served on the ``status`` subdomain of ``SERVER_NAME``."""

from __future__ import annotations

from gateway import Blueprint, current_app, request

bp = Blueprint("status", __name__)


@bp.route("/")
def health():
    stats = current_app.extensions.get("blueprints_app", {"requests": 0})
    return {"status": "ok", "host": request.host, "served": stats["requests"]}
