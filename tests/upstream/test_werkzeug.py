"""Canaries: the private internals of Werkzeug that gateway relies on."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import io
import typing as t
from contextvars import ContextVar
from inspect import Parameter

from canary import upstream, wsgi_app

# -- werkzeug ------------------------------------------------------------------


def test_werkzeug_rule_compile_builder() -> None:
    from werkzeug.routing import Map, Rule

    with upstream(
        "werkzeug",
        "Rule._compile_builder",
        "Rule._compile_builder(rule, append_unknown) returns a function that,"
        " bound with __get__(rule, None), takes the values as keywords and"
        " returns (domain part, path)",
        "routing.py _LazyBuilderAttr.__get__",
    ):
        rule = Rule("/a/<int:n>", endpoint="a")
        Map([rule])
        build = Rule._compile_builder(rule, False).__get__(rule, None)
        assert build(n=3) == ("", "/a/3")
        build_unknown = Rule._compile_builder(rule, True).__get__(rule, None)
        assert build_unknown(n=3, q="x") == ("", "/a/3?q=x")


def test_werkzeug_rule_compile_assigns_builders() -> None:
    from werkzeug.routing import Map, Rule

    class Builder:
        def __init__(self, append_unknown: bool) -> None:
            self.append_unknown = append_unknown

        def __get__(self, rule: t.Any, owner: t.Any = None) -> Builder:
            return self

    class Probe(Rule):
        def _compile_builder(self, append_unknown: bool = True) -> t.Any:
            return Builder(append_unknown)

    with upstream(
        "werkzeug",
        "Rule.compile / Rule.build (_build, _build_unknown)",
        "compile() assigns self._compile_builder(False) to self._build and"
        " self._compile_builder(True) to self._build_unknown (each bound with"
        " __get__); build(values, append_unknown) calls _build_unknown(**values),"
        " or _build(**values) when append_unknown is false",
        "routing.py Rule._compile_builder, _LazyBuilderAttr",
    ):
        rule = Probe("/a/<int:n>", endpoint="a")
        Map([rule])
        assert rule.__dict__["_build"].append_unknown is False
        assert rule.__dict__["_build_unknown"].append_unknown is True
        rule._build = lambda **values: ("", f"/known/{values['n']}")
        rule._build_unknown = lambda **values: ("", f"/unknown/{values['n']}")
        assert rule.build({"n": 1}, append_unknown=False) == ("", "/known/1")
        assert rule.build({"n": 1}) == ("", "/unknown/1")


def test_werkzeug_rule_parts_and_trace() -> None:
    from werkzeug.routing import Map, Rule

    with upstream(
        "werkzeug",
        "Rule._parts (RulePart, Weighting)",
        "after compile() rule._parts is a list of RulePart dataclasses with"
        " exactly the fields content, final, static, suffixed, weight (gateway"
        " shares parts that are equal in these); weight is a Weighting of"
        " number_static_weights, static_weights, number_argument_weights,"
        " argument_weights, the lists holding hashable items; matching and"
        " building never change a part",
        "routing.py _intern_part, Rule.compile",
    ):
        from werkzeug.routing.rules import RulePart, Weighting

        assert [f.name for f in dataclasses.fields(RulePart)] == [
            "content",
            "final",
            "static",
            "suffixed",
            "weight",
        ]
        assert Weighting._fields == (
            "number_static_weights",
            "static_weights",
            "number_argument_weights",
            "argument_weights",
        )
        rule = Rule("/a/<int:n>/b.<ext>", endpoint="a")
        url_map = Map([rule])
        assert type(rule._parts) is list and rule._parts
        assert all(type(part) is RulePart for part in rule._parts)
        for part in rule._parts:
            assert type(part.weight) is Weighting
            hash(tuple(part.weight.static_weights))
            hash(tuple(part.weight.argument_weights))
        before = copy.deepcopy(rule._parts)
        adapter = url_map.bind("localhost")
        adapter.match("/a/1/b.txt")
        adapter.build("a", {"n": 2, "ext": "csv"})
        assert rule._parts == before

    with upstream(
        "werkzeug",
        "Rule._trace",
        "after compile() rule._trace is a list of (is_dynamic: bool, text: str)"
        " tuples, replaceable by an equal list",
        "routing.py _intern_trace, Rule.compile",
    ):
        assert type(rule._trace) is list and rule._trace
        assert all(
            type(item) is tuple
            and len(item) == 2
            and type(item[0]) is bool
            and type(item[1]) is str
            for item in rule._trace
        )
        assert (True, "n") in rule._trace


def test_werkzeug_map_adapter_positional_call() -> None:
    from werkzeug.routing import Map, MapAdapter, Rule
    from werkzeug.test import create_environ

    with upstream(
        "werkzeug",
        "MapAdapter(...) positional call",
        "MapAdapter(map, server_name, script_name, subdomain, url_scheme,"
        " path_info, default_method, query_args) is what"
        " Map.bind_to_environ builds for the same request",
        "app_urls.py URLsMixin._bind_to_request",
    ):
        url_map = Map([Rule("/x", endpoint="x")])
        environ = create_environ("/x?a=1", "http://example.com/root/")
        expected = url_map.bind_to_environ(environ)
        built = MapAdapter(
            url_map, "example.com", "/root", "", "http", "/x", "GET", "a=1"
        )
        assert vars(built) == vars(expected)


def test_werkzeug_state_machine_matcher() -> None:
    from types import MappingProxyType, SimpleNamespace

    from werkzeug.routing import Map, RequestRedirect, Rule
    from werkzeug.routing.matcher import State, StateMachineMatcher

    with upstream(
        "werkzeug",
        "StateMachineMatcher (_root, merge_slashes, State)",
        "StateMachineMatcher(merge_slashes) holds only _root (a State of the"
        " fields dynamic, rules, static) and merge_slashes; Map keeps one as"
        " _matcher, calls its add(rule) and update() and reads merge_slashes"
        " from it; match(domain, path, method, websocket) only reads the"
        " states: iterates rules and dynamic (part, state) pairs, tests and"
        " indexes static",
        "routing.py _Matcher, _State, Map",
    ):
        assert [f.name for f in dataclasses.fields(State)] == [
            "dynamic",
            "rules",
            "static",
        ]
        assert set(vars(StateMachineMatcher(False))) == {"_root", "merge_slashes"}

        calls: list[str] = []

        class Recording(StateMachineMatcher):
            def add(self, rule: t.Any) -> None:
                calls.append("add")
                super().add(rule)

            def update(self) -> None:
                calls.append("update")
                super().update()

        url_map = Map(merge_slashes=False)
        assert type(url_map._matcher) is StateMachineMatcher
        url_map._matcher = Recording(True)
        assert url_map.merge_slashes is True
        url_map.add(Rule("/a/<int:n>", endpoint="a", methods=["GET"]))
        url_map.add(Rule("/a/<int:n>/<path:rest>", endpoint="b"))
        adapter = url_map.bind("example.com")
        assert adapter.match("/a/1") == ("a", {"n": 1})
        assert calls == ["add", "add", "update"]

        # The same states, read-only: tuples and mappings that cannot change.
        def frozen(state: t.Any) -> t.Any:
            return SimpleNamespace(
                dynamic=tuple((part, frozen(s)) for part, s in state.dynamic),
                rules=tuple(state.rules),
                static=MappingProxyType(
                    {key: frozen(s) for key, s in state.static.items()}
                ),
            )

        url_map._matcher._root = frozen(url_map._matcher._root)
        assert adapter.match("/a/2") == ("a", {"n": 2})
        assert adapter.match("/a/2/x/y") == ("b", {"n": 2, "rest": "x/y"})
        try:
            adapter.match("/a//3")
        except RequestRedirect as e:
            assert e.new_url == "http://example.com/a/3"
        else:
            raise AssertionError("merged slashes: no redirect")


def test_werkzeug_map_adapter_match_steps() -> None:
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import Map, RequestRedirect, Rule
    from werkzeug.routing.matcher import StateMachineMatcher

    with upstream(
        "werkzeug",
        "MapAdapter.match (matcher arguments, redirects, _rules_by_endpoint)",
        "match() with no arguments asks map._matcher.match(domain, path,"
        " method, websocket) with the subdomain (or server_name with host"
        " matching), '/' + path_info without leading slashes ('' when empty),"
        " default_method upper-cased and .websocket; then redirects for a rule"
        " with redirect_to, and with redirect_defaults only for an earlier rule"
        " of map._rules_by_endpoint[endpoint] that provides the defaults;"
        " otherwise returns the matcher's rule and values",
        "routing.py RequestAdapter.match",
    ):
        asked: list[tuple[str, str, str, bool]] = []

        class Recording(StateMachineMatcher):
            def match(
                self, domain: str, path: str, method: str, websocket: bool
            ) -> t.Any:
                asked.append((domain, path, method, websocket))
                return super().match(domain, path, method, websocket)

        url_map = Map(
            [
                Rule("/a", endpoint="a", methods=["GET"]),
                Rule("/old", endpoint="old", methods=["GET"], redirect_to="/a"),
                Rule("/one", endpoint="twin", defaults={"x": 1}, methods=["GET"]),
                Rule("/two", endpoint="twin", defaults={"x": 1}, methods=["GET"]),
            ]
        )
        recording = Recording(url_map.merge_slashes)
        for rule in url_map.iter_rules():
            recording.add(rule)
        url_map._matcher = recording
        url_map.update()
        assert [r.rule for r in url_map._rules_by_endpoint["twin"]] == ["/one", "/two"]

        bound = url_map.bind("example.com", subdomain="", path_info="//a")
        bound.default_method = "get"
        assert bound.match() == ("a", {})
        assert asked[-1] == ("", "/a", "GET", False)
        for path_info, scheme, asked_path, websocket in (
            ("", "http", "", False),
            ("/a", "ws", "/a", True),
        ):
            try:
                url_map.bind(
                    "example.com", path_info=path_info, url_scheme=scheme
                ).match()
            except HTTPException:
                pass  # no rule for "" / not a websocket rule: only the question counts
            assert asked[-1] == ("", asked_path, "GET", websocket)
        assert url_map.bind("example.com", path_info="/one").match() == (
            "twin",
            {"x": 1},
        )
        for path, target in (("/old", "/a"), ("/two", "/one")):
            try:
                url_map.bind("example.com", path_info=path).match()
            except RequestRedirect as e:
                assert e.new_url == f"http://example.com{target}", e.new_url
            else:
                raise AssertionError(f"{path}: no redirect")

        host_map = Map([Rule("/", endpoint="i", host="h.example")], host_matching=True)
        host_map._matcher = recording = Recording(host_map.merge_slashes)
        for rule in host_map.iter_rules():
            recording.add(rule)
        assert host_map.bind("h.example", path_info="/").match() == ("i", {})
        assert asked[-1] == ("h.example", "/", "GET", False)


def test_werkzeug_rule_sets_and_converters() -> None:
    from werkzeug.routing import Map, Rule

    with upstream(
        "werkzeug",
        "Rule.methods, Rule.arguments, Rule.get_converter",
        "Rule.__init__ builds methods as a set (GET adds HEAD) and arguments"
        " as a set that compile() adds the variables to; no other code"
        " changes either, so frozensets do; compile() calls"
        " get_converter(variable_name, converter_name, args, kwargs) for each"
        " variable; Werkzeug's converters keep only their arguments and the"
        " map",
        "routing.py Rule.__init__, Rule.compile, Rule.get_converter",
    ):
        seen: list[tuple[t.Any, ...]] = []

        class Probe(Rule):
            def get_converter(self, *args: t.Any) -> t.Any:
                seen.append(args)
                return super().get_converter(*args)

        rule = Probe("/a/<int(min=2):n>/<name>", endpoint="a", methods=["get"])
        assert type(rule.methods) is set and rule.methods == {"GET", "HEAD"}
        assert type(rule.arguments) is set and rule.arguments == set()
        url_map = Map([rule])
        assert rule.arguments == {"n", "name"}
        assert seen == [("n", "int", (), {"min": 2}), ("name", "default", (), {})]
        rule.methods = frozenset(rule.methods)
        rule.arguments = frozenset(rule.arguments)
        adapter = url_map.bind("example.com")
        assert adapter.match("/a/2/x") == ("a", {"n": 2, "name": "x"})
        assert adapter.build("a", {"n": 3, "name": "y"}) == "/a/3/y"
        assert set(adapter.allowed_methods("/a/2/x")) == {"GET", "HEAD"}
        for cls in Map.default_converters.values():
            attributes = set(vars(cls(url_map)))
            expected = {"map", "regex", "items", "fixed_digits", "min", "max"}
            assert attributes <= expected | {"signed"}, cls


def test_werkzeug_headers_list() -> None:
    from werkzeug.datastructures import Headers

    with upstream(
        "werkzeug",
        "Headers._list",
        "the list of (name, value) tuples a Headers object keeps, read by"
        " every method and replaceable by assignment",
        "_responses.py text_response, wrappers.py _plain_wsgi_headers",
    ):
        headers = Headers()
        assert type(headers._list) is list and headers._list == []
        headers.add("X-One", "1")
        assert headers._list == [("X-One", "1")]
        items = [("Content-Type", "text/plain"), ("Content-Length", "2")]
        headers._list = list(items)
        assert headers["content-length"] == "2"
        assert list(headers) == items
        assert headers.to_wsgi_list() == items


def test_werkzeug_response_instance_attributes() -> None:
    from werkzeug.datastructures import Headers
    from werkzeug.wrappers import Response

    with upstream(
        "werkzeug",
        "Response.__init__ attributes (_status, _status_code, _on_close)",
        "a new Response has exactly the instance attributes headers, _status,"
        " _status_code, direct_passthrough, _on_close, response (otherwise"
        " text_response silently falls back to the slow constructor);"
        " _on_close is the list call_on_close appends to; an object given"
        " only these attributes is a working response",
        "_responses.py _recipe, text_response; wrappers.py Response.__call__",
    ):
        rv = Response(b"", content_type="text/plain")
        assert set(vars(rv)) == {
            "headers",
            "_status",
            "_status_code",
            "direct_passthrough",
            "_on_close",
            "response",
        }
        assert rv._status == "200 OK" and rv._status_code == 200
        assert rv._on_close == []
        rv.call_on_close(print)
        assert rv._on_close == [print]

        fast = object.__new__(Response)
        fast.__dict__.update(
            _status="200 OK",
            _status_code=200,
            direct_passthrough=False,
            headers=Headers([("Content-Type", "text/plain")]),
            _on_close=[],
            response=[b"hi"],
        )
        assert fast.status == "200 OK" and fast.status_code == 200
        assert fast.get_data() == b"hi"


def test_werkzeug_plain_response_wsgi_call() -> None:
    from werkzeug.test import create_environ
    from werkzeug.wrappers import Response

    with upstream(
        "werkzeug",
        "Response.__call__ for a plain buffered response",
        "Werkzeug's WSGI call of a 200 response with a list body and"
        " Content-Length sends headers._list unchanged and the body as is",
        "wrappers.py Response.__call__ (fast path)",
    ):
        rv = Response(b"hi", mimetype="text/plain")
        sent = []
        body = rv(
            create_environ(), lambda status, headers, *_: sent.append((status, headers))
        )
        try:
            assert b"".join(body) == b"hi"
        finally:
            body.close()
        assert sent == [("200 OK", rv.headers._list)]


def _multipart_environ() -> dict[str, t.Any]:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        method="POST", data={"name": "value", "upload": (io.BytesIO(b"x"), "x.txt")}
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def test_werkzeug_request_load_form_data() -> None:
    from werkzeug.wrappers import Request

    calls = []

    class Probe(Request):
        def _load_form_data(self) -> None:
            calls.append("load")
            super()._load_form_data()

    with upstream(
        "werkzeug",
        "Request._load_form_data",
        "the method request.form and request.files go through, leaving"
        " stream, form and files in the instance __dict__",
        "wrappers.py Request._load_form_data",
    ):
        request = Probe(_multipart_environ())
        try:
            assert request.form["name"] == "value"
            assert calls
            assert {"stream", "form", "files"} <= request.__dict__.keys()
        finally:
            request.close()


def test_werkzeug_request_close() -> None:
    from werkzeug.wrappers import Request

    with upstream(
        "werkzeug",
        "Request.close",
        "close() only closes the uploads already parsed into"
        " __dict__['files']: on a request whose form was never read it"
        " changes nothing",
        "ctx.py RequestContext.pop",
    ):
        request = Request(_multipart_environ())
        before = dict(vars(request))
        request.close()
        assert vars(request) == before
        upload = request.files["upload"]
        assert "files" in request.__dict__
        request.close()
        assert upload.stream.closed


def _form_request() -> t.Any:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    builder = EnvironBuilder(method="POST", data={"name": "value"})
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


def test_werkzeug_request_files_class_assignment() -> None:
    with upstream(
        "werkzeug",
        "Request.files (class reassignment)",
        "request.files of a non-multipart form accepts __class__ = a subclass"
        " of its own class",
        "debughelpers.py attach_enctype_error_multidict",
    ):
        request = _form_request()
        files = request.files
        files.__class__ = type("Explaining", (type(files),), {})
        assert type(request.files).__name__ == "Explaining"


def test_werkzeug_request_host_assignment() -> None:
    with upstream(
        "werkzeug",
        "Request.host (assignment)",
        "request.host is a cached property that an assignment overrides",
        "app_urls.py URLsMixin.create_url_adapter",
    ):
        request = _form_request()
        request.host = "example.org"
        assert request.host == "example.org"


def test_werkzeug_local_proxy_get_current_object() -> None:
    from werkzeug.local import LocalProxy

    class Context:
        app = object()

    var: ContextVar[Context] = ContextVar("canary")
    with upstream(
        "werkzeug",
        "LocalProxy._get_current_object",
        "LocalProxy(context_var, name)._get_current_object() returns the"
        " named attribute of the object in the context variable",
        "templating.py render_template (also flashing.py, cli/)",
    ):
        proxy = LocalProxy(var, "app")
        context = Context()
        token = var.set(context)
        try:
            assert proxy._get_current_object() is Context.app
        finally:
            var.reset(token)


def test_werkzeug_bad_request_key_error_show_exception() -> None:
    from werkzeug.exceptions import BadRequestKeyError

    with upstream(
        "werkzeug",
        "BadRequestKeyError.show_exception",
        "a class attribute, False by default; set on an instance, the"
        " description names the missing key",
        "app_errors.py ErrorsMixin.handle_user_exception",
    ):
        assert BadRequestKeyError.show_exception is False
        error = BadRequestKeyError("missing_key")
        assert "missing_key" not in error.description
        error.show_exception = True
        assert "missing_key" in error.description


def test_werkzeug_send_file_root_path(tmp_path: t.Any) -> None:
    from werkzeug.test import create_environ
    from werkzeug.utils import send_file, send_from_directory

    (tmp_path / "hello.txt").write_bytes(b"hi")
    with upstream(
        "werkzeug",
        "send_file(_root_path=...)",
        "send_file takes the private keyword _root_path that a relative path"
        " is resolved against, and send_from_directory passes **kwargs on",
        "helpers.py _prepare_send_file_kwargs",
    ):
        assert "_root_path" in inspect.signature(send_file).parameters
        kinds = [
            p.kind for p in inspect.signature(send_from_directory).parameters.values()
        ]
        assert Parameter.VAR_KEYWORD in kinds
        rv = send_file("hello.txt", create_environ(), _root_path=str(tmp_path))
        try:
            assert rv.status_code == 200
            assert b"".join(rv.response) == b"hi"
        finally:
            rv.close()


def test_werkzeug_client_cookie_internals() -> None:
    from werkzeug.test import Client, create_environ

    with upstream(
        "werkzeug",
        "Client._cookies / _update_cookies_from_response / _add_cookies_to_wsgi",
        "_cookies is a dict (None with use_cookies=False);"
        " _update_cookies_from_response(server_name, path, set_cookie_headers)"
        " stores cookies that _add_cookies_to_wsgi(environ) then writes to"
        " HTTP_COOKIE",
        "testing.py AppClient.session_transaction",
    ):
        assert Client(wsgi_app, use_cookies=False)._cookies is None
        client = Client(wsgi_app)
        assert client._cookies == {}
        client._update_cookies_from_response("localhost", "/", ["session=abc; Path=/"])
        environ = create_environ("/", "http://localhost/")
        client._add_cookies_to_wsgi(environ)
        assert environ["HTTP_COOKIE"] == "session=abc"
