"""App-wide registrations made from a blueprint (``app_*`` and friends)."""

from __future__ import annotations

import typing as t

from gateway import Blueprint, g, render_template, request, session

bp = Blueprint("site", __name__)

SUPPORTED_LANGUAGES = ("en", "fr")


@bp.route("/")
def index() -> str:
    return render_template("index.html")


def about() -> str:
    return render_template("about.html")


bp.add_url_rule("/about", view_func=about)


@bp.before_app_request
def load_user() -> None:
    """Every request, whatever its blueprint, knows who is logged in."""
    g.user = session.get("user")


@bp.after_app_request
def add_served_by(response):
    response.headers["X-Served-By"] = "blueprints-app"
    return response


@bp.teardown_app_request
def count_requests(exc: BaseException | None) -> None:
    from gateway import current_app

    stats = current_app.extensions.setdefault("blueprints_app", {"requests": 0})
    stats["requests"] += 1


@bp.app_errorhandler(404)
def page_not_found(error):
    return render_template("404.html", path=request.path), 404


@bp.app_context_processor
def inject_languages() -> dict[str, t.Any]:
    return {"languages": SUPPORTED_LANGUAGES}


@bp.app_template_filter("shout")
def shout(text: str) -> str:
    return f"{text.upper()}!"


@bp.app_template_test("supported_language")
def is_supported_language(code: str) -> bool:
    return code in SUPPORTED_LANGUAGES


@bp.app_template_global("site_name")
def site_name() -> str:
    return "Blueprints Example"


@bp.app_url_value_preprocessor
def pull_language(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
    """Take ``lang_code`` out of the view arguments of any route that has it."""
    g.lang_code = values.pop("lang_code", None) if values else None
    if g.lang_code is not None and g.lang_code not in SUPPORTED_LANGUAGES:
        from gateway import abort

        abort(404)


@bp.app_url_defaults
def add_language(endpoint: str, values: dict[str, t.Any]) -> None:
    """Links built during a request keep the request's language."""
    from gateway import current_app

    if "lang_code" in values or not g.get("lang_code"):
        return
    if current_app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
        values["lang_code"] = g.lang_code
