"""Class-based views: gateway.views.View and MethodView through real requests."""

from __future__ import annotations

import typing as t

import pytest

import gateway
from gateway.views import MethodView, View


def allowed(rv: t.Any) -> set[str]:
    return set(rv.headers["Allow"].split(", "))


def test_view_dispatches_with_url_variables(app: gateway.App, client: t.Any) -> None:
    class Greet(View):
        def dispatch_request(self, name: str) -> str:
            return f"hello {name}"

    app.add_url_rule("/hi/<name>", view_func=Greet.as_view("greet"))
    assert client.get("/hi/ann").data == b"hello ann"
    with app.test_request_context():
        assert gateway.url_for("greet", name="bo") == "/hi/bo"


def test_as_view_passes_constructor_arguments(app: gateway.App, client: t.Any) -> None:
    class Render(View):
        def __init__(self, template: str, *, suffix: str = "") -> None:
            self.template = template
            self.suffix = suffix

        def dispatch_request(self) -> str:
            return self.template + self.suffix

    app.add_url_rule("/a", view_func=Render.as_view("a", "page-a"))
    app.add_url_rule("/b", view_func=Render.as_view("b", "page-b", suffix="!"))
    assert client.get("/a").data == b"page-a"
    assert client.get("/b").data == b"page-b!"


def test_as_view_copies_class_information_onto_the_function() -> None:
    class Documented(View):
        """What this view does."""

        methods = ["GET", "POST"]
        provide_automatic_options = False

    view = Documented.as_view("documented")
    assert view.__name__ == "documented"
    assert view.__doc__ == "What this view does."
    assert view.__module__ == __name__
    assert view.view_class is Documented
    assert view.methods == ["GET", "POST"]
    assert view.provide_automatic_options is False


def test_view_methods_attribute_sets_the_route_methods(
    app: gateway.App, client: t.Any
) -> None:
    class Form(View):
        methods = ["GET", "POST"]

        def dispatch_request(self) -> str:
            return gateway.request.method

    app.add_url_rule("/", view_func=Form.as_view("form"))
    assert client.get("/").data == b"GET"
    assert client.post("/").data == b"POST"
    rv = client.put("/")
    assert rv.status_code == 405
    assert allowed(rv) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_default_view_accepts_get_only(app: gateway.App, client: t.Any) -> None:
    class Plain(View):
        def dispatch_request(self) -> str:
            return "plain"

    app.add_url_rule("/", view_func=Plain.as_view("plain"))
    assert client.get("/").data == b"plain"
    assert client.post("/").status_code == 405


def test_missing_dispatch_request_is_an_error(app: gateway.App, client: t.Any) -> None:
    app.add_url_rule("/", view_func=View.as_view("bare"))
    with pytest.raises(NotImplementedError):
        client.get("/")


def test_a_new_instance_serves_each_request(app: gateway.App, client: t.Any) -> None:

    class Counter(View):
        def __init__(self) -> None:
            self.calls = 0

        def dispatch_request(self) -> str:
            self.calls += 1
            return str(self.calls)

    app.add_url_rule("/", view_func=Counter.as_view("counter"))
    assert [client.get("/").data for _ in range(3)] == [b"1", b"1", b"1"]


def test_init_every_request_false_shares_one_instance(
    app: gateway.App, client: t.Any
) -> None:
    created: list[object] = []

    class Counter(View):
        init_every_request = False

        def __init__(self, start: int) -> None:
            created.append(self)
            self.calls = start

        def dispatch_request(self) -> str:
            self.calls += 1
            return str(self.calls)

    view = Counter.as_view("counter", 10)
    assert len(created) == 1  # built once, when the view function is made
    app.add_url_rule("/", view_func=view)
    assert [client.get("/").data for _ in range(3)] == [b"11", b"12", b"13"]
    assert len(created) == 1


def test_replacing_view_class_changes_what_is_instantiated(
    app: gateway.App, client: t.Any
) -> None:
    class Real(View):
        def dispatch_request(self) -> str:
            return "real"

    class Fake(View):
        def dispatch_request(self) -> str:
            return "fake"

    view = Real.as_view("thing")
    app.add_url_rule("/", view_func=view)
    assert client.get("/").data == b"real"
    view.view_class = Fake
    assert client.get("/").data == b"fake"


def test_decorators_wrap_in_list_order(app: gateway.App, client: t.Any) -> None:
    def add(mark: str) -> t.Callable[[t.Callable[..., str]], t.Callable[..., str]]:
        def decorator(f: t.Callable[..., str]) -> t.Callable[..., str]:
            def wrapper(**kwargs: t.Any) -> str:
                return f"{mark}({f(**kwargs)})"

            return wrapper

        return decorator

    class Decorated(View):
        decorators = [add("inner"), add("outer")]

        def dispatch_request(self, x: str) -> str:
            return x

    app.add_url_rule("/<x>", view_func=Decorated.as_view("decorated"))
    assert client.get("/v").data == b"outer(inner(v))"


def test_decorators_see_the_endpoint_name(app: gateway.App) -> None:
    names: list[str] = []

    def record(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        names.append(f.__name__)
        return f

    class V(View):
        decorators = [record]

        def dispatch_request(self) -> str:
            return ""

    V.as_view("my_endpoint")
    assert names == ["my_endpoint"]


def test_decorator_can_short_circuit_the_view(app: gateway.App, client: t.Any) -> None:
    def login_required(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        def wrapper(**kwargs: t.Any) -> t.Any:
            if "user" not in gateway.request.args:
                gateway.abort(401)
            return f(**kwargs)

        return wrapper

    class Secret(View):
        decorators = [login_required]

        def dispatch_request(self) -> str:
            return "secret"

    app.add_url_rule("/", view_func=Secret.as_view("secret"))
    assert client.get("/").status_code == 401
    assert client.get("/?user=1").data == b"secret"


def test_provide_automatic_options_false_disables_options(
    app: gateway.App, client: t.Any
) -> None:
    class NoOptions(View):
        methods = ["GET"]
        provide_automatic_options = False

        def dispatch_request(self) -> str:
            return gateway.request.method

    class WithOptions(View):
        def dispatch_request(self) -> str:
            return gateway.request.method

    app.add_url_rule("/no", view_func=NoOptions.as_view("no"))
    app.add_url_rule("/yes", view_func=WithOptions.as_view("yes"))
    assert client.options("/no").status_code == 405
    rv = client.options("/yes")
    assert rv.status_code == 200
    assert allowed(rv) == {"GET", "HEAD", "OPTIONS"}


class CounterAPI(MethodView):
    def get(self) -> str:
        return "get"

    def post(self) -> str:
        return "post"


def test_method_view_derives_methods_from_handlers() -> None:
    assert CounterAPI.methods == {"GET", "POST"}


def test_method_view_dispatches_by_method(app: gateway.App, client: t.Any) -> None:
    app.add_url_rule("/", view_func=CounterAPI.as_view("counter"))
    assert client.get("/").data == b"get"
    assert client.post("/").data == b"post"
    rv = client.delete("/")
    assert rv.status_code == 405
    assert allowed(rv) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_head_falls_back_to_get(app: gateway.App, client: t.Any) -> None:
    app.add_url_rule("/", view_func=CounterAPI.as_view("counter"))
    rv = client.head("/")
    assert rv.status_code == 200
    assert rv.data == b""
    assert rv.headers["Content-Length"] == "3"


def test_explicit_head_handler_wins(app: gateway.App, client: t.Any) -> None:
    class WithHead(MethodView):
        def get(self) -> str:
            return "body"

        def head(self) -> t.Any:
            return "", 204, {"X-Head": "yes"}

    app.add_url_rule("/", view_func=WithHead.as_view("with_head"))
    rv = client.head("/")
    assert rv.status_code == 204
    assert rv.headers["X-Head"] == "yes"


def test_method_view_inherits_handlers_and_methods(
    app: gateway.App, client: t.Any
) -> None:
    class Base(MethodView):
        def get(self) -> str:
            return "base get"

    class Child(Base):
        def delete(self) -> str:
            return "child delete"

    class GrandChild(Child):
        def get(self) -> str:
            return "grandchild get"

    assert Base.methods == {"GET"}
    assert Child.methods == {"GET", "DELETE"}
    assert GrandChild.methods == {"GET", "DELETE"}

    app.add_url_rule("/c", view_func=Child.as_view("child"))
    app.add_url_rule("/g", view_func=GrandChild.as_view("grandchild"))
    assert client.get("/c").data == b"base get"
    assert client.delete("/c").data == b"child delete"
    assert client.get("/g").data == b"grandchild get"
    assert client.delete("/g").data == b"child delete"


def test_methods_from_a_mixin_base_are_kept() -> None:
    class Mixin:
        methods = ["PURGE"]

    class Api(Mixin, MethodView):
        def get(self) -> str:
            return ""

    assert Api.methods == {"GET", "PURGE"}


def test_explicit_methods_on_the_class_are_respected(
    app: gateway.App, client: t.Any
) -> None:
    class ReadOnly(MethodView):
        methods = ["GET"]

        def get(self) -> str:
            return "read"

        def post(self) -> str:  # present but not routed
            return "write"

    app.add_url_rule("/", view_func=ReadOnly.as_view("ro"))
    assert client.get("/").data == b"read"
    assert client.post("/").status_code == 405


def test_listed_method_without_handler_answers_405(
    app: gateway.App, client: t.Any
) -> None:
    class Incomplete(MethodView):
        methods = ["GET", "PUT"]

        def get(self) -> str:
            return "got"

    app.add_url_rule("/", view_func=Incomplete.as_view("incomplete"))
    rv = client.put("/")
    assert rv.status_code == 405
    assert "GET" in allowed(rv)
    assert "PUT" not in allowed(rv)


def test_method_view_without_handlers_keeps_default_methods() -> None:
    class Empty(MethodView):
        pass

    assert Empty.methods is None


def test_method_view_gets_url_variables_and_constructor_args(
    app: gateway.App, client: t.Any
) -> None:
    class ItemAPI(MethodView):
        def __init__(self, store: dict[int, str]) -> None:
            self.store = store

        def get(self, item_id: int) -> str:
            return self.store.get(item_id, "missing")

        def put(self, item_id: int) -> tuple[str, int]:
            self.store[item_id] = gateway.request.get_data(as_text=True)
            return "stored", 201

    store: dict[int, str] = {}
    app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item", store))
    assert client.get("/items/1").data == b"missing"
    assert client.put("/items/1", data="apple").status_code == 201
    assert client.get("/items/1").data == b"apple"
    assert store == {1: "apple"}


def test_one_class_registered_for_list_and_item_urls(
    app: gateway.App, client: t.Any
) -> None:
    """The documented REST pattern: one view, several rules."""

    class UserAPI(MethodView):
        def get(self, user_id: int | None) -> str:
            return "list" if user_id is None else f"user {user_id}"

        def post(self) -> str:
            return "created"

    view = UserAPI.as_view("users")
    app.add_url_rule(
        "/users/", defaults={"user_id": None}, view_func=view, methods=["GET"]
    )
    app.add_url_rule("/users/", view_func=view, methods=["POST"])
    app.add_url_rule("/users/<int:user_id>", view_func=view, methods=["GET"])
    assert client.get("/users/").data == b"list"
    assert client.post("/users/").data == b"created"
    assert client.get("/users/7").data == b"user 7"


def test_async_method_handlers_run(app: gateway.App, client: t.Any) -> None:
    pytest.importorskip("asgiref")

    class AsyncAPI(MethodView):
        async def get(self) -> str:
            return "async get"

    class AsyncView(View):
        async def dispatch_request(self) -> str:
            return "async view"

    app.add_url_rule("/m", view_func=AsyncAPI.as_view("m"))
    app.add_url_rule("/v", view_func=AsyncView.as_view("v"))
    assert client.get("/m").data == b"async get"
    assert client.get("/v").data == b"async view"


def test_class_views_in_blueprints(app: gateway.App, client: t.Any) -> None:
    bp = gateway.Blueprint("api", __name__, url_prefix="/api")
    bp.add_url_rule("/things", view_func=CounterAPI.as_view("things"))
    app.register_blueprint(bp)
    assert client.post("/api/things").data == b"post"
    with app.test_request_context():
        assert gateway.url_for("api.things") == "/api/things"
