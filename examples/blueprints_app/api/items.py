"""A small JSON resource, registered more than once by the api blueprint."""

from __future__ import annotations

from gateway import Blueprint, abort, request, url_for

bp = Blueprint("items", __name__)

ITEMS = {1: "first", 2: "second"}


@bp.route("/items")
def list_items(version: int):
    return {
        "version": version,
        "endpoint": request.endpoint,
        "items": [url_for(".get_item", item_id=i) for i in sorted(ITEMS)],
    }


@bp.route("/items/<int:item_id>")
def get_item(version: int, item_id: int):
    if item_id not in ITEMS:
        abort(404)
    return {"version": version, "id": item_id, "name": ITEMS[item_id]}


@bp.post("/items")
def create_item(version: int):
    data = request.get_json()
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        abort(422)
    return {"version": version, "created": data["name"]}, 201
