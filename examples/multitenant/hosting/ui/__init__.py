"""What every application of the site shares, as one blueprint.

Registered on the tenant sites, the admin, the docs and the landing page: the
page skeleton (``ui/base.html``) and form macros, the base stylesheet served
at ``<app>/ui/base.css``, a small CSRF guard for every POST form (a random
token kept in the signed session, checked before the view runs), and the
page of a 503: while the tenant store is down, every view that reads it
raises :class:`~hosting.store.StoreUnavailable` and the visitor gets "back in
a moment" with ``Retry-After``, never a 500.
"""

from __future__ import annotations

import hmac
import secrets
import typing as t
from urllib.parse import urlsplit

from gateway import Blueprint, abort, render_template, request, session

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


def error_headers(error: t.Any) -> list[tuple[str, str]]:
    """The headers an HTTP error carries (``Retry-After`` of a 503, ``Allow``
    of a 405), for an error page that renders its own body."""
    return [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]


@bp.app_errorhandler(503)
def unavailable(error: t.Any) -> tuple[str, int, list[tuple[str, str]]]:
    """503 (the store is down): a page that reads nothing from the store,
    keeping the error's ``Retry-After``."""
    return (
        render_template("ui/unavailable.html", error=error),
        503,
        error_headers(error),
    )


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
