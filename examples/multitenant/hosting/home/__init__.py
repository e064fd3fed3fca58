"""The bare domain's landing page: every tenant with a link to its site, and
the way to the admin and the docs (``[gateway].default_app``)."""

from __future__ import annotations

from gateway import App, Blueprint, render_template

from .. import get_store
from ..links import app_url, tenant_home
from ..themes import THEMES
from ..ui import bp as ui_bp

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    return render_template(
        "home/index.html",
        tenants=get_store().tenants(),
        themes=THEMES,
        tenant_home=tenant_home,
        admin_url=app_url("admin", "admin.index"),
        docs_url=app_url("docs", "docs.page"),
        scaling_url=app_url("docs", "docs.page", name="scaling"),
    )


def create_app() -> App:
    """The landing application (``default_app = "hosting.home:create_app()"``)."""
    app = App(__name__, static_folder=None)
    app.register_blueprint(ui_bp)
    app.register_blueprint(bp)
    return app
