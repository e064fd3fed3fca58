"""One blueprint registered twice: as ``admin`` and as ``moderation``
(with ``url_defaults={"role": "moderator"}``)."""

from __future__ import annotations

from gateway import Blueprint, abort, g, request, url_for

bp = Blueprint("admin", __name__, url_defaults={"role": "administrator"})


@bp.before_request
def require_admin() -> None:
    if g.user != "admin":
        abort(403)


@bp.route("/")
def dashboard(role: str):
    return {
        "blueprint": request.blueprint,
        "role": role,
        "self": url_for(".dashboard"),
    }


@bp.errorhandler(403)
def forbidden(error):
    return {"error": f"{request.blueprint} requires an administrator"}, 403
