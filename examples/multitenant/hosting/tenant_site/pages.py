"""Public pages: the home page and the about page with its contact form."""

from __future__ import annotations

from gateway import Blueprint, flash, redirect, render_template, request, url_for

from ..store import contact_errors
from .context import state

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    site = state()
    return render_template(
        "site/index.html", member_count=len(site.store.members(site.tenant.id))
    )


@bp.route("/about", methods=["GET", "POST"])
def about() -> object:
    """GET shows the form; a valid POST stores the message, flashes a thank
    you and redirects (so reloading does not send it twice); an invalid one
    flashes what is wrong and shows the form again with what was typed."""
    form = {"name": "", "email": "", "message": ""}
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in form}
        errors = contact_errors(form["name"], form["email"], form["message"])
        if not errors:
            site = state()
            site.store.add_message(
                site.tenant.id, form["name"], form["email"], form["message"]
            )
            flash(
                f"Thank you, {form['name'].strip()}! Your message reached"
                f" {site.tenant.name}; a member will answer at {form['email'].strip()}.",
                "success",
            )
            return redirect(url_for("pages.about"))
        for error in errors:
            flash(error, "error")
        return render_template("site/about.html", form=form), 400
    return render_template("site/about.html", form=form)
