"""A JSON API written for Flask: a REST ``MethodView`` registered on several
rules, nested blueprints, JSON error handlers, API-key checks in
``before_request``, headers added in ``after_request``, a custom JSON provider
and typed query arguments."""

import dataclasses
import datetime
import decimal

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request, url_for
from flask.json.provider import DefaultJSONProvider
from flask.views import MethodView
from werkzeug.exceptions import HTTPException


class ValidationError(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclasses.dataclass
class Stats:
    items: int
    total: decimal.Decimal
    generated: datetime.date


class ApiJSONProvider(DefaultJSONProvider):
    sort_keys = False

    @staticmethod
    def default(o):
        if isinstance(o, set):
            return sorted(o)
        return DefaultJSONProvider.default(o)


def store():
    return current_app.extensions["item_store"]


def validate(data, partial=False):
    if not isinstance(data, dict):
        raise ValidationError("body", "A JSON object is required.")
    if not partial or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name", "A non-empty name is required.")
    if "price" in data and not isinstance(data["price"], (int, float)):
        raise ValidationError("price", "The price must be a number.")
    return data


class ItemAPI(MethodView):
    init_every_request = False

    def get(self, item_id):
        if item_id is None:
            page = request.args.get("page", 1, type=int)
            per_page = request.args.get("per_page", 2, type=int)
            ids = sorted(store())
            chunk = ids[(page - 1) * per_page : page * per_page]
            body = {
                "items": [store()[i] for i in chunk],
                "page": page,
                "total": len(ids),
            }
            if page * per_page < len(ids):
                body["next"] = url_for(
                    ".items", page=page + 1, per_page=per_page, _external=True
                )
            return body
        item = store().get(item_id)
        if item is None:
            abort(404, description=f"No item {item_id}.")
        return jsonify(item)

    def post(self):
        data = validate(request.get_json())
        if any(i["name"] == data["name"] for i in store().values()):
            abort(409, description="An item with that name exists.")
        item_id = max(store(), default=0) + 1
        item = {"id": item_id, "name": data["name"], "price": data.get("price", 0)}
        item["tags"] = set(data.get("tags", ()))
        store()[item_id] = item
        location = url_for(".items", item_id=item_id, _method="GET")
        return item, 201, {"Location": location}

    def put(self, item_id):
        if item_id not in store():
            abort(404)
        data = validate(request.get_json(), partial=True)
        store()[item_id].update(data)
        return store()[item_id]

    def delete(self, item_id):
        if store().pop(item_id, None) is None:
            abort(404)
        return "", 204


api = Blueprint("api", __name__, url_prefix="/api/v1")
admin = Blueprint("admin", __name__, url_prefix="/admin")


def register_api(bp, view, endpoint, url, pk="item_id", pk_type="int"):
    view_func = view.as_view(endpoint)
    bp.add_url_rule(url, defaults={pk: None}, view_func=view_func, methods=["GET"])
    bp.add_url_rule(url, view_func=view_func, methods=["POST"])
    bp.add_url_rule(
        f"{url}<{pk_type}:{pk}>",
        view_func=view_func,
        methods=["GET", "PUT", "DELETE"],
    )


register_api(api, ItemAPI, "items", "/items/")


@api.before_request
def check_key():
    g.client = request.headers.get("X-Api-Key")
    if request.method not in ("GET", "HEAD", "OPTIONS") and g.client != "secret":
        abort(401, description="A valid X-Api-Key header is required.")


@api.errorhandler(ValidationError)
def validation_error(e):
    return {"error": "invalid", "field": e.field, "message": e.message}, 422


@api.get("/whoami")
def whoami():
    return {
        "client": g.client,
        "endpoint": request.endpoint,
        "blueprints": request.blueprints,
        "url": request.url,
        "ua": request.user_agent.string,
    }


@admin.get("/stats")
def stats():
    total = sum(decimal.Decimal(str(i["price"])) for i in store().values())
    return jsonify(Stats(len(store()), total, datetime.date(2024, 1, 31)))


@admin.get("/tags")
def tags():
    return [sorted(i["tags"]) for i in store().values()]


api.register_blueprint(admin)


def create_app():
    app = Flask(__name__)
    app.json_provider_class = ApiJSONProvider
    app.json = ApiJSONProvider(app)
    app.extensions["item_store"] = {}
    app.register_blueprint(api)

    @app.errorhandler(HTTPException)
    def json_http_error(e):
        return jsonify(code=e.code, name=e.name, description=e.description), e.code

    @app.after_request
    def headers(response):
        response.headers["X-Api-Version"] = "1"
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        return response

    @app.route("/")
    def root():
        return jsonify(
            items=url_for("api.items", _external=True),
            stats=url_for("api.admin.stats"),
            item_post=url_for("api.items", _method="POST"),
        )

    return app
