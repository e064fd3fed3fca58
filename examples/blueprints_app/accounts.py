"""Blueprint-scoped hooks, error handler, context processor and template
helpers, plus the ``get``/``post`` route shortcuts."""

from __future__ import annotations

from gateway import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

PAGE = """{{ "profile" | initial }} {{ user }} {% if user is admin %}(admin){% endif %} \
{{ greeting() }} {{ area }}"""


@bp.get("/login")
def login_form() -> str:
    return "<form method=post><input name=username></form>"


@bp.post("/login")
def login():
    username = request.form["username"].strip()
    if not username:
        abort(401)
    session["user"] = username
    return redirect(url_for(".profile"))


@bp.post("/logout")
def logout():
    session.pop("user", None)
    return redirect(url_for("site.index"))


@bp.route("/profile")
def profile() -> str:
    return render_template_string(PAGE, user=g.user)


@bp.before_request
def require_login_for_profile() -> None:
    if request.endpoint == "accounts.profile" and g.user is None:
        abort(401)


@bp.after_request
def never_cache(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.teardown_request
def forget_attempt(exc: BaseException | None) -> None:
    g.pop("login_attempt", None)


@bp.errorhandler(401)
def unauthorized(error):
    return "Please log in first.", 401


@bp.context_processor
def inject_area() -> dict[str, str]:
    return {"area": "accounts"}


@bp.template_filter("initial")
def initial(text: str) -> str:
    return text[:1].upper()


@bp.template_test("admin")
def is_admin(name: str | None) -> bool:
    return name == "admin"


@bp.template_global("greeting")
def greeting() -> str:
    return "welcome"
