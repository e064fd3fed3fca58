"""What every application of the site shares, as one blueprint.

Registered on the tenant sites, the admin, the docs and the landing page: the
page skeleton (``ui/base.html``) and form macros, the base stylesheet served
at ``<app>/ui/base.css``, and a small CSRF guard for every POST form (a random
token kept in the signed session, checked before the view runs).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from gateway import Blueprint, abort, request, session

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ui",
)

_CSRF_KEY = "_csrf"


@bp.app_template_global()
def csrf_token() -> str:
    """The session's form token, created on first use."""
    token = session.get(_CSRF_KEY)
    if not token:
        token = session[_CSRF_KEY] = secrets.token_urlsafe(24)
    return token


@bp.before_app_request
def check_csrf() -> None:
    """Refuse a POST whose form token is not the session's (400)."""
    if request.method != "POST":
        return
    expected = session.get(_CSRF_KEY)
    sent = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(str(expected), sent):
        abort(400, "This form has expired. Reload the page and send it again.")


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site (``/members/``), else ``default``.

    A login's ``next`` parameter must never send the visitor to another host:
    absolute URLs, scheme-relative ``//host`` and backslash tricks are refused.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(c < " " for c in target):
        return default
    return target
