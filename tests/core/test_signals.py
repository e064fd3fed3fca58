"""The core signals: each one is sent at its documented point, by the
application, with the documented arguments."""

from __future__ import annotations

import typing as t
from contextlib import ExitStack

import pytest
from blinker import Signal

import gateway
from gateway import signals

ALL_SIGNALS = {
    "appcontext_pushed": signals.appcontext_pushed,
    "request_started": signals.request_started,
    "before_render_template": signals.before_render_template,
    "template_rendered": signals.template_rendered,
    "message_flashed": signals.message_flashed,
    "got_request_exception": signals.got_request_exception,
    "request_finished": signals.request_finished,
    "request_tearing_down": signals.request_tearing_down,
    "appcontext_tearing_down": signals.appcontext_tearing_down,
    "appcontext_popped": signals.appcontext_popped,
}


class Recorder:
    """Connects to every core signal for one app and records each send."""

    def __init__(self, app: gateway.App) -> None:
        self.app = app
        self.events: list[tuple[str, dict[str, t.Any]]] = []
        self._stack = ExitStack()

    def __enter__(self) -> Recorder:
        for name, signal in ALL_SIGNALS.items():
            self._stack.enter_context(
                signal.connected_to(self._receiver(name), self.app)
            )
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self._stack.close()

    def _receiver(self, name: str) -> t.Callable[..., None]:
        def receive(sender: t.Any, **kwargs: t.Any) -> None:
            assert sender is self.app
            self.events.append((name, kwargs))

        return receive

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def kwargs(self, name: str) -> dict[str, t.Any]:
        (found,) = [kw for n, kw in self.events if n == name]
        return found


def test_signal_names_are_the_documented_ones() -> None:
    expected = {
        "template_rendered": "template-rendered",
        "before_render_template": "before-render-template",
        "request_started": "request-started",
        "request_finished": "request-finished",
        "request_tearing_down": "request-tearing-down",
        "got_request_exception": "got-request-exception",
        "appcontext_tearing_down": "appcontext-tearing-down",
        "appcontext_pushed": "appcontext-pushed",
        "appcontext_popped": "appcontext-popped",
        "message_flashed": "message-flashed",
    }
    for attr, name in expected.items():
        signal = getattr(gateway, attr)
        assert signal is getattr(signals, attr)
        assert isinstance(signal, Signal)
        assert signal.name == name  # type: ignore[attr-defined]


def test_a_request_sends_signals_in_lifecycle_order(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> str:
        gateway.flash("hi", "info")
        return gateway.render_template_string("{{ v }}", v="x")

    with Recorder(app) as rec:
        rv = client.get("/")

    assert rec.names == [
        "appcontext_pushed",
        "request_started",
        "message_flashed",
        "before_render_template",
        "template_rendered",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    assert rec.kwargs("request_started") == {}
    assert rec.kwargs("appcontext_pushed") == {}
    assert rec.kwargs("appcontext_popped") == {}
    assert rec.kwargs("message_flashed") == {"message": "hi", "category": "info"}
    assert rec.kwargs("request_finished")["response"].get_data() == rv.get_data()
    assert rec.kwargs("request_tearing_down") == {"exc": None}
    assert rec.kwargs("appcontext_tearing_down") == {"exc": None}
    rendered = rec.kwargs("template_rendered")
    assert rendered["template"].render(v="again") == "again"
    assert rendered["context"]["v"] == "x"
    assert rec.kwargs("before_render_template")["context"] is rendered["context"]


def test_unhandled_exception_sends_got_request_exception(
    app: gateway.App, client: t.Any
) -> None:
    app.testing = False
    boom = ValueError("boom")

    @app.route("/")
    def index() -> str:
        raise boom

    with Recorder(app) as rec:
        assert client.get("/").status_code == 500

    assert rec.kwargs("got_request_exception") == {"exception": boom}
    assert rec.kwargs("request_tearing_down") == {"exc": boom}
    assert rec.kwargs("appcontext_tearing_down") == {"exc": boom}
    assert "request_finished" in rec.names  # the 500 response is still sent


def test_got_request_exception_is_sent_even_when_propagating(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> str:
        raise KeyError("k")

    with Recorder(app) as rec, pytest.raises(KeyError):
        client.get("/")
    assert isinstance(rec.kwargs("got_request_exception")["exception"], KeyError)
    assert isinstance(rec.kwargs("request_tearing_down")["exc"], KeyError)


@pytest.mark.parametrize(
    "raise_it",
    [
        pytest.param(lambda: gateway.abort(404), id="http-exception"),
        pytest.param(
            lambda: (_ for _ in ()).throw(LookupError("x")), id="handled-class"
        ),
    ],
)
def test_handled_errors_do_not_send_got_request_exception(
    app: gateway.App, client: t.Any, raise_it: t.Callable[[], t.Any]
) -> None:
    app.register_error_handler(LookupError, lambda e: ("handled", 418))

    @app.route("/")
    def index() -> t.Any:
        return raise_it()

    with Recorder(app) as rec:
        rv = client.get("/")
    assert rv.status_code in (404, 418)
    assert "got_request_exception" not in rec.names


def test_request_context_is_usable_in_request_signals(
    app: gateway.App, client: t.Any
) -> None:
    seen: dict[str, t.Any] = {}

    def started(sender: t.Any, **extra: t.Any) -> None:
        seen["path"] = gateway.request.path
        gateway.g.marker = "set in request_started"

    def finished(sender: t.Any, response: t.Any, **extra: t.Any) -> None:
        seen["g"] = gateway.g.marker
        seen["endpoint"] = gateway.request.endpoint

    app.add_url_rule("/where", "where", lambda: "")
    with (
        signals.request_started.connected_to(started, app),
        signals.request_finished.connected_to(finished, app),
    ):
        client.get("/where")
    assert seen == {
        "path": "/where",
        "g": "set in request_started",
        "endpoint": "where",
    }


def test_app_context_alone_sends_appcontext_signals(app: gateway.App) -> None:
    with Recorder(app) as rec:
        with app.app_context():
            assert rec.names == ["appcontext_pushed"]
    assert rec.names == [
        "appcontext_pushed",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    assert rec.kwargs("appcontext_tearing_down") == {"exc": None}


def test_appcontext_tearing_down_gets_the_exception(app: gateway.App) -> None:
    with Recorder(app) as rec, pytest.raises(ZeroDivisionError):
        with app.app_context():
            1 / 0  # noqa: B018
    assert isinstance(rec.kwargs("appcontext_tearing_down")["exc"], ZeroDivisionError)


def test_receivers_only_hear_their_own_app(app: gateway.App) -> None:
    other = gateway.App("other")
    other.add_url_rule("/", "index", lambda: gateway.render_template_string("x"))
    with Recorder(app) as rec:
        assert other.test_client().get("/").data == b"x"
    assert rec.events == []


def test_receiver_without_sender_hears_every_app(app: gateway.App) -> None:
    other = gateway.App("other")
    other.add_url_rule("/", "index", lambda: "")
    senders: list[t.Any] = []

    def record(sender: t.Any, **extra: t.Any) -> None:
        senders.append(sender)

    with signals.request_started.connected_to(record):
        app.add_url_rule("/", "index", lambda: "")
        app.test_client().get("/")
        other.test_client().get("/")
    assert senders == [app, other]


def test_async_receivers_are_run(app: gateway.App, client: t.Any) -> None:
    pytest.importorskip("asgiref")
    calls: list[str] = []

    async def on_started(sender: t.Any, **extra: t.Any) -> None:
        calls.append("request_started")

    async def on_rendered(sender: t.Any, template: t.Any, **extra: t.Any) -> None:
        calls.append("template_rendered")

    async def on_flashed(sender: t.Any, message: str, **extra: t.Any) -> None:
        calls.append(f"message_flashed:{message}")

    @app.route("/")
    def index() -> str:
        gateway.flash("m")
        return gateway.render_template_string("x")

    with (
        signals.request_started.connected_to(on_started, app),
        signals.template_rendered.connected_to(on_rendered, app),
        signals.message_flashed.connected_to(on_flashed, app),
    ):
        assert client.get("/").data == b"x"
    assert calls == ["request_started", "message_flashed:m", "template_rendered"]


def test_documented_captured_templates_helper(app: gateway.App, client: t.Any) -> None:
    """The recipe from the signals chapter works as written."""
    from contextlib import contextmanager

    @contextmanager
    def captured_templates(app: gateway.App) -> t.Iterator[list[t.Any]]:
        recorded: list[t.Any] = []

        def record(
            sender: t.Any, template: t.Any, context: t.Any, **extra: t.Any
        ) -> None:
            recorded.append((template, context))

        signals.template_rendered.connect(record, app)
        try:
            yield recorded
        finally:
            signals.template_rendered.disconnect(record, app)

    @app.route("/")
    def index() -> str:
        return gateway.render_template(
            "child.html", title="t", text="x", items=list(range(10))
        )

    with captured_templates(app) as templates:
        rv = client.get("/")
        assert rv.status_code == 200
        assert len(templates) == 1
        template, context = templates[0]
        assert template.name == "child.html"
        assert len(context["items"]) == 10
