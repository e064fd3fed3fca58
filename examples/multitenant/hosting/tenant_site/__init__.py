"""The application every tenant gets, built from its row by :func:`create_site`.

One factory, many instances: each tenant's :class:`~gateway.App` has its own
config (name, theme), its own ``SECRET_KEY`` (derived by the gateway from
``[gateway].secret_key`` and the tenant key, so a session cookie of one
tenant means nothing to another), its own static files (its theme directory
served at ``/static/``) and the same blueprints:

- :mod:`.pages`: the home page and the about page with its contact form;
- :mod:`.auth`: sign in against the tenant's members, kept in the session;
- :mod:`.members`: the members-only area (contact messages, member list).
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from gateway import App, current_app, g, render_template, session

from ..links import app_url
from ..store import Store, Tenant
from ..themes import THEMES
from ..ui import bp as ui_bp
from ..ui import error_headers
from . import auth, members, pages
from .context import SiteState, state

THEMES_DIR = Path(__file__).resolve().parent / "themes"


def create_site(tenant: Tenant, store: Store) -> App:
    """Build the application of ``tenant``; ``store`` answers its queries."""
    theme = tenant.theme if tenant.theme in THEMES else "ocean"
    app = App(
        __name__,
        static_folder=str(THEMES_DIR / theme),
        static_url_path="/static",
    )
    app.config.update(
        TENANT_SLUG=tenant.slug,
        TENANT_NAME=tenant.name,
        THEME=theme,
    )
    app.extensions["hosting"] = SiteState(tenant, store)
    app.register_blueprint(ui_bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(members.bp, url_prefix="/members")
    app.before_request(_load_member)
    app.context_processor(_site_context)
    for code in (400, 404, 405, 503):
        app.register_error_handler(code, _error_page)
    return app


def _load_member() -> None:
    g.member = session.get("member")


def _site_context() -> dict[str, t.Any]:
    site = state()
    return {
        "tenant": site.tenant,
        "site": site,
        "member": g.get("member"),
        "theme": THEMES[current_app.config["THEME"]],
        "platform_docs": app_url("docs", "docs.page", name="overview"),
    }


def _error_page(error: t.Any) -> tuple[str, int, list[tuple[str, str]]]:
    """The tenant's themed error page; it keeps the error's headers
    (``Retry-After`` while the store is down, ``Allow`` of a 405)."""
    return (
        render_template("site/error.html", error=error),
        error.code,
        error_headers(error),
    )
