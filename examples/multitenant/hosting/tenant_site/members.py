"""The members-only area: messages sent through the contact form, and who
else is a member. Only for visitors signed in to *this* tenant."""

from __future__ import annotations

from gateway import Blueprint, render_template

from .auth import login_required
from .context import state

bp = Blueprint("members", __name__)


@bp.get("/")
@login_required
def index() -> str:
    site = state()
    return render_template(
        "site/members.html",
        messages=site.store.messages(site.tenant.id),
        members=site.store.members(site.tenant.id),
    )
