"""Error handling: abort, error handlers, propagation and trapping.

Pins handler lookup (by code, by class along the MRO, most specific first),
the default HTTP error responses, 500 handlers receiving an
InternalServerError with ``original_exception``, and the PROPAGATE_EXCEPTIONS
/ TRAP_HTTP_EXCEPTIONS / TRAP_BAD_REQUEST_ERRORS / debug switches.
"""

from __future__ import annotations

import pytest
from werkzeug.exceptions import (
    BadRequest,
    BadRequestKeyError,
    Forbidden,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)

import gateway
from gateway.signals import got_request_exception


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(400, id="400"),
        pytest.param(401, id="401"),
        pytest.param(403, id="403"),
        pytest.param(404, id="404"),
        pytest.param(410, id="410"),
        pytest.param(418, id="418"),
        pytest.param(500, id="500"),
        pytest.param(503, id="503"),
    ],
)
def test_abort_with_a_code_gives_the_default_error_page(app, client, code):
    app.add_url_rule("/", "index", lambda: gateway.abort(code))

    rv = client.get("/")
    assert rv.status_code == code
    assert rv.mimetype == "text/html"
    assert str(code).encode() in rv.data


def test_abort_with_a_description_shows_it(app, client):
    app.add_url_rule("/", "index", lambda: gateway.abort(403, "no entry for you"))

    assert b"no entry for you" in client.get("/").data


def test_abort_with_a_response_sends_that_response(app, client):
    app.add_url_rule(
        "/", "index", lambda: gateway.abort(gateway.Response("teapot", 418))
    )

    rv = client.get("/")
    assert rv.status_code == 418
    assert rv.data == b"teapot"


def test_abort_with_unknown_code_is_lookup_error(req_ctx):
    with pytest.raises(LookupError):
        gateway.abort(299)


def test_abort_uses_the_app_aborter(app, client):
    class Teapot(HTTPException):
        code = 499
        description = "custom code"

    app.aborter.mapping[499] = Teapot
    app.add_url_rule("/", "index", lambda: gateway.abort(499))

    rv = client.get("/")
    assert rv.status_code == 499
    assert b"custom code" in rv.data


def test_errorhandler_by_code_handles_routing_404(app, client):
    @app.errorhandler(404)
    def missing(e):
        return f"missing: {type(e).__name__}", 404

    rv = client.get("/nowhere")
    assert rv.status_code == 404
    assert rv.data == b"missing: NotFound"


def test_error_handler_must_set_status_itself(app, client):
    app.register_error_handler(404, lambda e: "forgot the status")

    rv = client.get("/nowhere")
    assert rv.status_code == 200
    assert rv.data == b"forgot the status"


def test_code_and_class_registration_are_the_same_slot(app, client):
    app.register_error_handler(404, lambda e: ("by code", 404))
    app.register_error_handler(NotFound, lambda e: ("by class", 404))

    assert client.get("/nowhere").data == b"by class"


def test_405_handler_sees_method_not_allowed_and_allow(app, client):
    app.add_url_rule("/", "index", lambda: "", methods=["POST"])

    @app.errorhandler(405)
    def not_allowed(e):
        assert isinstance(e, MethodNotAllowed)
        return {"allowed": sorted(e.valid_methods)}, 405

    rv = client.get("/")
    assert rv.status_code == 405
    assert rv.json == {"allowed": ["OPTIONS", "POST"]}


class ParentError(Exception):
    pass


class ChildError(ParentError):
    pass


class GrandchildError(ChildError):
    pass


@pytest.mark.parametrize(
    ("registered", "raised", "expected"),
    [
        pytest.param(
            [ParentError], GrandchildError, "ParentError", id="base-class-catches"
        ),
        pytest.param(
            [ParentError, ChildError],
            GrandchildError,
            "ChildError",
            id="nearest-mro-wins",
        ),
        pytest.param(
            [ChildError, ParentError],
            GrandchildError,
            "ChildError",
            id="order-irrelevant",
        ),
        pytest.param(
            [Exception, ParentError],
            ChildError,
            "ParentError",
            id="exception-is-last-resort",
        ),
        pytest.param([Exception], KeyError, "Exception", id="exception-catches-all"),
        pytest.param(
            [GrandchildError], ParentError, None, id="subclass-handler-ignores-parent"
        ),
    ],
)
def test_errorhandler_by_class_uses_the_most_specific_in_mro(
    app, client, registered, raised, expected
):
    for cls in registered:
        app.register_error_handler(cls, lambda e, cls=cls: (cls.__name__, 500))

    @app.route("/")
    def index():
        raise raised("x")

    if expected is None:
        with pytest.raises(raised):
            client.get("/")
    else:
        assert client.get("/").data.decode() == expected


def test_httpexception_handler_catches_every_http_error(app, client):
    @app.errorhandler(HTTPException)
    def any_http(e):
        return {"code": e.code, "name": e.name}, e.code

    app.add_url_rule("/forbid", "forbid", lambda: gateway.abort(403))

    assert client.get("/forbid").json == {"code": 403, "name": "Forbidden"}
    assert client.get("/nowhere").json == {"code": 404, "name": "Not Found"}


def test_code_handler_beats_httpexception_handler(app, client):
    app.register_error_handler(HTTPException, lambda e: ("generic", e.code))
    app.register_error_handler(403, lambda e: ("forbidden", 403))
    app.add_url_rule("/forbid", "forbid", lambda: gateway.abort(403))

    assert client.get("/forbid").data == b"forbidden"
    assert client.get("/nowhere").data == b"generic"


def test_http_exception_subclass_with_existing_code_uses_code_handler(app, client):
    class PaymentGone(Forbidden):
        description = "subclass"

    app.register_error_handler(403, lambda e: (f"403 got {type(e).__name__}", 403))

    @app.route("/")
    def index():
        raise PaymentGone()

    assert client.get("/").data == b"403 got PaymentGone"


def test_unhandled_exception_becomes_500_with_original_exception(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen = []

    @app.errorhandler(500)
    def server_error(e):
        seen.append(e)
        return "sorry", 500

    @app.route("/")
    def index():
        raise ValueError("original")

    rv = client.get("/")
    assert rv.status_code == 500
    assert rv.data == b"sorry"
    (error,) = seen
    assert isinstance(error, InternalServerError)
    assert isinstance(error.original_exception, ValueError)
    assert str(error.original_exception) == "original"


def test_explicit_abort_500_has_no_original_exception(app, client):
    seen = []
    app.register_error_handler(
        InternalServerError, lambda e: seen.append(e) or ("handled", 500)
    )
    app.add_url_rule("/", "index", lambda: gateway.abort(500))

    assert client.get("/").status_code == 500
    assert seen[0].original_exception is None


def test_unhandled_exception_without_500_handler_is_plain_500(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/")
    def index():
        raise ValueError("secret detail")

    rv = client.get("/")
    assert rv.status_code == 500
    assert b"Internal Server Error" in rv.data
    assert b"secret detail" not in rv.data
    assert b"Traceback" not in rv.data


def test_exception_in_error_handler_is_500(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.errorhandler(404)
    def broken(e):
        raise RuntimeError("handler broke")

    assert client.get("/nowhere").status_code == 500


@pytest.mark.parametrize(
    ("config", "propagates"),
    [
        pytest.param({"TESTING": True}, True, id="testing-propagates"),
        pytest.param({"TESTING": False, "DEBUG": True}, True, id="debug-propagates"),
        pytest.param({"TESTING": False}, False, id="production-500"),
        pytest.param(
            {"TESTING": True, "PROPAGATE_EXCEPTIONS": False}, False, id="forced-off"
        ),
        pytest.param(
            {"TESTING": False, "PROPAGATE_EXCEPTIONS": True}, True, id="forced-on"
        ),
    ],
)
def test_propagate_exceptions_setting(app, client, config, propagates):
    app.config.update(config)

    @app.route("/")
    def index():
        raise ArithmeticError("x")

    if propagates:
        with pytest.raises(ArithmeticError):
            client.get("/")
    else:
        assert client.get("/").status_code == 500


def test_propagated_exception_is_the_original_object(app, client):
    error = KeyError("identity")

    @app.route("/")
    def index():
        raise error

    with pytest.raises(KeyError) as exc_info:
        client.get("/")
    assert exc_info.value is error


def test_trap_http_exceptions_raises_them_instead_of_responding(app, client):
    app.config["TRAP_HTTP_EXCEPTIONS"] = True
    app.add_url_rule("/", "index", lambda: gateway.abort(403))

    with pytest.raises(Forbidden):
        client.get("/")
    with pytest.raises(NotFound):
        client.get("/nowhere")


def test_trap_http_exceptions_off_gives_responses(app, client):
    app.add_url_rule("/", "index", lambda: gateway.abort(403))

    assert client.get("/").status_code == 403


def _read_missing_form_key():
    return gateway.request.form["missing"]


@pytest.mark.parametrize(
    ("config", "outcome"),
    [
        pytest.param({}, 400, id="default-400"),
        pytest.param(
            {"TRAP_BAD_REQUEST_ERRORS": True}, BadRequestKeyError, id="trapped"
        ),
        pytest.param({"DEBUG": True}, BadRequestKeyError, id="debug-traps-key-errors"),
        pytest.param(
            {"DEBUG": True, "TRAP_BAD_REQUEST_ERRORS": False},
            400,
            id="debug-forced-off",
        ),
    ],
)
def test_missing_form_key_is_400_or_trapped(app, client, config, outcome):
    app.config.update(config)
    app.add_url_rule("/", "index", _read_missing_form_key, methods=["POST"])

    if isinstance(outcome, int):
        assert client.post("/", data={"other": "1"}).status_code == outcome
    else:
        with pytest.raises(outcome):
            client.post("/", data={"other": "1"})


def test_trap_bad_request_errors_traps_plain_bad_request_too(app, client):
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True
    app.add_url_rule("/", "index", lambda: gateway.abort(400))

    with pytest.raises(BadRequest):
        client.get("/")


def test_debug_key_error_message_names_the_key(app, client):
    app.config.update(DEBUG=True, TRAP_BAD_REQUEST_ERRORS=False)
    app.add_url_rule("/", "index", _read_missing_form_key, methods=["POST"])

    rv = client.post("/", data={})
    assert rv.status_code == 400
    assert b"missing" in rv.data


def test_handle_user_exception_reraises_without_handler(app, req_ctx):
    error = ValueError("no handler")

    with pytest.raises(ValueError) as exc_info:
        try:
            raise error
        except ValueError as e:
            app.handle_user_exception(e)
    assert exc_info.value is error


def test_handle_user_exception_uses_registered_handler(app, req_ctx):
    app.register_error_handler(ValueError, lambda e: ("handled", 418))

    rv = app.make_response(app.handle_user_exception(ValueError("x")))
    assert rv.status_code == 418


def test_handle_http_exception_returns_exception_without_handler(app, req_ctx):
    error = NotFound()

    assert app.handle_http_exception(error) is error


def test_handle_exception_can_be_overridden_in_a_subclass(app):
    class MyApp(gateway.App):
        def handle_exception(self, e):
            return self.response_class(f"overridden {type(e).__name__}", 503)

    my_app = MyApp("my_app")
    my_app.add_url_rule("/", "index", lambda: 1 / 0)

    rv = my_app.test_client().get("/")
    assert rv.status_code == 503
    assert rv.data == b"overridden ZeroDivisionError"


def test_got_request_exception_is_sent_for_unhandled_errors(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    received = []

    def record(sender, exception, **extra):
        received.append((sender, exception))

    @app.route("/")
    def index():
        raise OSError("disk")

    with got_request_exception.connected_to(record, app):
        assert client.get("/").status_code == 500
    assert len(received) == 1
    assert received[0][0] is app
    assert isinstance(received[0][1], OSError)


def test_log_exception_is_called_with_exc_info_in_production(app, client):
    logged = []

    class Logged(gateway.App):
        def log_exception(self, exc_info):
            logged.append(exc_info)

    my_app = Logged("logged")
    my_app.add_url_rule("/", "index", lambda: {}["missing"])

    assert my_app.test_client().get("/").status_code == 500
    (exc_info,) = logged
    assert exc_info[0] is KeyError
    assert isinstance(exc_info[1], KeyError)


def test_register_error_handler_refuses_unknown_code(app):
    with pytest.raises(ValueError, match="999"):
        app.register_error_handler(999, lambda e: "")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(ValueError("instance"), id="exception-instance"),
        pytest.param(int, id="not-an-exception-class"),
    ],
)
def test_register_error_handler_refuses_non_exception_classes(app, bad):
    with pytest.raises((TypeError, ValueError)):
        app.register_error_handler(bad, lambda e: "")


def test_error_handler_spec_structure(app):
    def handler(e):
        return "", 404

    app.register_error_handler(404, handler)
    app.register_error_handler(KeyError, handler)

    assert app.error_handler_spec[None][404][NotFound] is handler
    assert app.error_handler_spec[None][None][KeyError] is handler


def test_exception_handler_also_catches_http_exceptions(app, client):
    """HTTPException subclasses Exception, so a catch-all sees 404s too."""
    app.register_error_handler(Exception, lambda e: (type(e).__name__, 599))

    rv = client.get("/nowhere")
    assert rv.status_code == 599
    assert rv.data == b"NotFound"


def test_routing_redirects_bypass_http_error_handlers(app, client):
    app.register_error_handler(HTTPException, lambda e: ({"code": e.code}, 418))
    app.add_url_rule("/folder/", "folder", lambda: "f")

    rv = client.get("/folder")
    assert rv.status_code == 308
    assert rv.location.endswith("/folder/")


def test_handler_may_return_the_http_exception_itself(app, client):
    seen = []

    @app.errorhandler(403)
    def passthrough(e):
        seen.append(e.code)
        return e

    app.add_url_rule("/", "index", lambda: gateway.abort(403))
    rv = client.get("/")
    assert rv.status_code == 403
    assert b"Forbidden" in rv.data
    assert seen == [403]


def test_should_ignore_error_hides_the_exception_from_teardown(tmp_path):
    class Quiet(gateway.App):
        def should_ignore_error(self, error):
            return isinstance(error, ArithmeticError)

    app = Quiet("quiet", root_path=str(tmp_path))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen = []
    app.teardown_request(seen.append)
    app.add_url_rule("/arith", "arith", lambda: 1 / 0)
    app.add_url_rule("/key", "key", lambda: {}["k"])

    client = app.test_client()
    assert client.get("/arith").status_code == 500
    assert client.get("/key").status_code == 500
    assert seen[0] is None
    assert isinstance(seen[1], KeyError)


def test_the_aborter_is_made_on_first_use():
    from werkzeug.exceptions import Aborter

    made: list[Aborter] = []

    class Counting(gateway.App):
        def make_aborter(self) -> Aborter:
            made.append(super().make_aborter())
            return made[-1]

    app = Counting(__name__)
    assert "aborter" not in vars(app) and made == []
    assert app.aborter is made[0] and app.aborter is made[0]
    replacement = Aborter()
    app.aborter = replacement
    assert app.aborter is replacement
