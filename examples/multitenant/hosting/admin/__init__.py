"""The platform's admin, mounted at ``/admin`` on the bare domain.

It lists the tenants from the store, adds, renames, re-themes and removes
them, and shows the live statistics of this process's tenant registry. A
change is written to the store and the affected keys are evicted from this
process's registry at once (which also forgets a "no such tenant" answer
cached for a new key), so the change is visible on the next request; other
gateway processes see it at their next poll of the store
(``[tenants].refresh_interval``).

Only clients from ``MULTITENANT_ADMIN_ALLOW`` (comma-separated networks,
default loopback) may use it; others get a 403.
"""

from __future__ import annotations

import ipaddress
import os
import typing as t

from gateway import (
    App,
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import EXAMPLE_ROOT, get_store
from ..links import app_url, current_gateway, tenant_home
from ..store import StoreError
from ..themes import THEMES
from ..ui import bp as ui_bp

ADMIN_ALLOW_ENV = "MULTITENANT_ADMIN_ALLOW"
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")

bp = Blueprint("admin", __name__)


def parse_networks(
    value: str,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs; a :class:`ValueError` names the bad entry."""
    networks = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{ADMIN_ALLOW_ENV}: {item!r} is not a network such as 10.0.0.0/8"
            ) from None
    return tuple(networks)


def client_allowed(remote_addr: str | None, networks: t.Sequence[t.Any]) -> bool:
    """Whether the client address falls in one of ``networks``."""
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def registry_view() -> tuple[dict[str, int] | None, list[str]]:
    """This process's tenant registry stats and live keys (None, [] when the
    admin runs outside a gateway with tenants)."""
    gw = current_gateway()
    registry = gw.registry if gw is not None else None
    if registry is None:
        return None, []
    return registry.stats(), sorted(registry.keys())


def forget(*slugs: str) -> None:
    """Evict tenant instances (and "no such tenant" records) in this process."""
    gw = current_gateway()
    if gw is not None and gw.registry is not None:
        for slug in slugs:
            gw.registry.evict(slug)


@bp.before_app_request
def restrict_clients() -> None:
    """403 for clients outside ``ADMIN_ALLOW`` (after the gateway's proxy
    fix, so behind a trusted proxy this is the real client's address)."""
    if not client_allowed(request.remote_addr, current_app.config["ADMIN_ALLOW"]):
        abort(403, f"The admin is only open to the networks in {ADMIN_ALLOW_ENV}.")


@bp.app_context_processor
def _layout_context() -> dict[str, t.Any]:
    return {
        "pid": os.getpid(),
        "docs_url": app_url("docs", "docs.page", name="registry"),
    }


@bp.get("/")
def index() -> tuple[str, int] | str:
    return _render_index()


def _render_index(
    form: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    store = get_store()
    tenants = store.tenants()
    stats, live = registry_view()
    return (
        render_template(
            "admin/index.html",
            tenants=tenants,
            counts=store.member_counts(),
            stats=stats,
            live=set(live),
            themes=THEMES,
            theme_options=[(name, theme.label) for name, theme in THEMES.items()],
            form=form
            or {
                "slug": "",
                "name": "",
                "tagline": "",
                "theme": "ocean",
                "username": "demo",
            },
            tenant_home=tenant_home,
            store_url=_redacted(store.url),
        ),
        status,
    )


def _redacted(url: str) -> str:
    """The database URL for display: without a password, and a SQLite file
    inside the example shown relative to it (``sqlite:///var/...``)."""
    root = f"sqlite:///{EXAMPLE_ROOT}/"
    if url.startswith(root):
        return "sqlite:///" + url[len(root) :]
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"
    return url


@bp.post("/tenants")
def add() -> t.Any:
    form = {
        key: request.form.get(key, "")
        for key in ("slug", "name", "tagline", "theme", "username")
    }
    try:
        tenant = get_store().add(
            form["slug"],
            form["name"],
            form["theme"],
            form["tagline"],
            username=form["username"] or "demo",
            password=request.form.get("password", ""),
        )
    except StoreError as e:
        flash(str(e), "error")
        return _render_index(form, 400)
    forget(tenant.slug)
    flash(
        f"Added {tenant.name}: it answers at {tenant_home(tenant.slug) or tenant.slug} now.",
        "success",
    )
    return redirect(url_for("admin.index"))


@bp.post("/tenants/<slug>/rename")
def rename(slug: str) -> t.Any:
    try:
        tenant = get_store().rename(slug, request.form.get("new_slug", ""))
    except StoreError as e:
        flash(str(e), "error")
        return redirect(url_for("admin.index"))
    forget(slug, tenant.slug)
    flash(
        f"Renamed {slug!r} to {tenant.slug!r}; the old address answers 404 now.",
        "success",
    )
    return redirect(url_for("admin.index"))


@bp.route("/tenants/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str) -> t.Any:
    """GET: the form for a tenant's name, tagline and theme; POST: save it."""
    store = get_store()
    tenant = store.get(slug)
    if tenant is None:
        abort(404, f"There is no tenant called {slug!r}.")
    if request.method == "GET":
        return render_template(
            "admin/edit.html",
            tenant=tenant,
            theme_options=[(name, theme.label) for name, theme in THEMES.items()],
            tenant_home=tenant_home,
        )
    try:
        tenant = get_store().update(
            slug,
            request.form.get("name", ""),
            request.form.get("theme", ""),
            request.form.get("tagline", ""),
        )
    except StoreError as e:
        flash(str(e), "error")
        return redirect(url_for("admin.index"))
    forget(slug)
    flash(f"Saved {tenant.name} ({THEMES[tenant.theme].label} theme).", "success")
    return redirect(url_for("admin.index"))


@bp.post("/tenants/<slug>/delete")
def delete(slug: str) -> t.Any:
    if not get_store().remove(slug):
        flash(f"There is no tenant called {slug!r}.", "error")
        return redirect(url_for("admin.index"))
    forget(slug)
    flash(f"Removed {slug!r}: its instance is evicted and it answers 404.", "success")
    return redirect(url_for("admin.index"))


@bp.post("/tenants/<slug>/evict")
def evict(slug: str) -> t.Any:
    gw = current_gateway()
    if gw is None or gw.registry is None or not gw.registry.evict(slug):
        flash(f"{slug!r} has no live instance in this process.", "info")
    else:
        flash(f"Evicted {slug!r}: its next request builds a fresh instance.", "success")
    return redirect(url_for("admin.index"))


@bp.get("/traffic")
def traffic() -> str:
    """Per-tenant requests/s, p95 latency, error rate and in flight over the
    last minute, summed over every worker process, with a chart per row."""
    from .traffic import RECENT, WINDOW, rows, sampler_for, sparkline

    sampler = sampler_for(current_gateway())
    samples = sampler.snapshot() if sampler is not None else []
    return render_template(
        "admin/traffic.html",
        enabled=sampler is not None,
        rows=rows(samples),
        samples=len(samples),
        interval=sampler.interval if sampler is not None else 0,
        recent=RECENT,
        window=WINDOW,
        sparkline=sparkline,
    )


@bp.get("/stats.json")
def stats() -> t.Any:
    """The registry's counters and live keys, polled by the admin page."""
    counters, live = registry_view()
    return jsonify(pid=os.getpid(), stats=counters, live=live)


def create_app() -> App:
    """The admin application (``[[mounts]] app = "hosting.admin:create_app()"``)."""
    app = App(__name__, static_folder=None)
    app.config["ADMIN_ALLOW"] = parse_networks(
        os.environ.get(ADMIN_ALLOW_ENV, ",".join(DEFAULT_ALLOW))
    )
    app.register_blueprint(ui_bp)
    app.register_blueprint(bp)
    return app
