"""A blueprint with its own templates and static files, mounted at
``/<lang_code>/blog``; ``record``/``record_once`` set it up on the app."""

from __future__ import annotations

import typing as t

from gateway import Blueprint, abort, current_app, g, render_template

bp = Blueprint(
    "blog",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


@bp.record_once
def add_default_settings(state) -> None:
    state.app.config.setdefault("BLOG_TITLE", "The Blueprints Blog")


@bp.record
def remember_mount_point(state) -> None:
    mounts = state.app.extensions.setdefault("blog_mounts", [])
    mounts.append(state.url_prefix)


@bp.url_value_preprocessor
def check_language(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
    # ``site.pull_language`` already popped lang_code into g; the blog
    # additionally needs it to be present.
    if g.get("lang_code") is None:
        abort(404)


@bp.url_defaults
def default_language(endpoint: str, values: dict[str, t.Any]) -> None:
    values.setdefault("lang_code", g.get("lang_code") or "en")


@bp.route("/")
def index() -> str:
    posts = sorted(current_app.config["BLOG_POSTS"])
    return render_template("blog/index.html", posts=posts)


@bp.route("/<slug>")
def post(slug: str) -> str:
    try:
        text = current_app.config["BLOG_POSTS"][slug][g.lang_code]
    except KeyError:
        raise LookupError(slug) from None
    return render_template("blog/post.html", slug=slug, text=text)


@bp.errorhandler(LookupError)
def missing_post(error: LookupError):
    return render_template("blog/missing.html", slug=error.args[0]), 404
