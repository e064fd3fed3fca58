"""The platform's documentation, mounted at ``/docs`` on the bare domain.

A page per feature of the gateway, each showing it at work on this very
site: the registry's live counters, URLs built across applications with
``url_for_app`` (to a tenant, to the admin, to the landing page), and the
``gateway.toml`` the site runs from.
"""

from __future__ import annotations

import typing as t

from gateway import App, Blueprint, abort, render_template, request

from .. import EXAMPLE_ROOT, database_url, get_store
from ..links import app_url, current_gateway, tenant_home
from ..store import StoreUnavailable
from ..ui import bp as ui_bp

#: (name, title) of every page, in reading order.
PAGES: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("tenants", "Tenants by sub-domain"),
    ("mounts", "Apps mounted by path"),
    ("registry", "The app registry"),
    ("sessions", "Secrets and sessions"),
    ("proxies", "Trusted proxies and hosts"),
    ("health", "Health checks"),
    ("scaling", "Scaling out"),
    ("config", "This site's gateway.toml"),
)
TITLES = dict(PAGES)

bp = Blueprint("docs", __name__)


@bp.get("/", defaults={"name": "overview"})
@bp.get("/<name>")
def page(name: str) -> str:
    if name not in TITLES:
        abort(404)
    index = [n for n, _ in PAGES].index(name)
    return render_template(
        f"docs/{name}.html",
        name=name,
        title=TITLES[name],
        pages=PAGES,
        previous=PAGES[index - 1] if index > 0 else None,
        following=PAGES[index + 1] if index + 1 < len(PAGES) else None,
        **_page_context(name),
    )


def _first_tenant() -> str | None:
    """The first tenant's sub-domain for the examples on a page; None when
    there is none or the store is down (the page is still worth reading)."""
    try:
        tenants = get_store().tenants()
    except StoreUnavailable:
        return None
    return tenants[0].slug if tenants else None


def _page_context(name: str) -> dict[str, t.Any]:
    """The live values a page shows."""
    gw = current_gateway()
    context: dict[str, t.Any] = {"gateway": gw, "host": request.host}
    if name in ("overview", "tenants", "mounts", "sessions"):
        slug = _first_tenant()
        context["example_slug"] = slug
        context["example_home"] = tenant_home(slug) if slug else None
    if name == "mounts":
        slug = context["example_slug"]
        examples = [
            ('url_for_app("admin", "admin.index")', app_url("admin", "admin.index")),
            (
                'url_for_app("docs", "docs.page", name="scaling")',
                app_url("docs", "docs.page", name="scaling"),
            ),
            ('url_for_app("", "home.index")', app_url("", "home.index")),
        ]
        if slug:
            examples.append(
                (f'url_for_app("{slug}", "pages.about")', app_url(slug, "pages.about"))
            )
        context["examples"] = examples
    if name in ("registry", "health"):
        registry = gw.registry if gw is not None else None
        context["stats"] = registry.stats() if registry is not None else None
        context["live"] = sorted(registry.keys()) if registry is not None else []
    if name == "scaling":
        context["database_url"] = database_url().split("://", 1)[0]
    if name == "config":
        path = EXAMPLE_ROOT / "gateway.toml"
        context["toml"] = path.read_text(encoding="utf-8")
    return context


@bp.app_context_processor
def _links() -> dict[str, t.Any]:
    return {
        "admin_url": app_url("admin", "admin.index"),
        "home_url": app_url("", "home.index"),
    }


def create_app() -> App:
    """The docs application (``[[mounts]] app = "hosting.docs:create_app()"``)."""
    app = App(__name__, static_folder=None)
    app.register_blueprint(ui_bp)
    app.register_blueprint(bp)
    return app
