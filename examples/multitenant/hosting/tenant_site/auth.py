"""Signing in and out: a member of this tenant, kept in this tenant's session."""

from __future__ import annotations

import functools
import typing as t

from gateway import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from ..ui import safe_next
from .context import state

bp = Blueprint("auth", __name__)

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def login_required(view: F) -> F:
    """Send visitors who are not signed in to the login page, and back after."""

    @functools.wraps(view)
    def wrapped(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if g.get("member") is None:
            flash("Please sign in to see the members' area.", "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return t.cast(F, wrapped)


@bp.route("/login", methods=["GET", "POST"])
def login() -> object:
    username = ""
    if request.method == "POST":
        site = state()
        username = request.form.get("username", "").strip()
        member = site.store.check_login(
            site.tenant.id, username, request.form.get("password", "")
        )
        if member is not None:
            token = session.get("_csrf")
            session.clear()  # a fresh session on privilege change
            if token:
                session["_csrf"] = token
            session["member"] = {
                "username": member.username,
                "name": member.display_name,
            }
            flash(f"Welcome back, {member.display_name}.", "success")
            target = request.args.get("next") or request.form.get("next")
            return redirect(safe_next(target, url_for("members.index")))
        flash("Wrong username or password.", "error")
        return render_template("site/login.html", username=username), 401
    return render_template("site/login.html", username=username)


@bp.post("/logout")
def logout() -> object:
    session.pop("member", None)
    flash("You are signed out.", "info")
    return redirect(url_for("pages.index"))
