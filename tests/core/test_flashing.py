"""Message flashing: flash(), get_flashed_messages() and the documented
template patterns, through real requests."""

from __future__ import annotations

import typing as t

import pytest
from markupsafe import Markup

import gateway
from gateway.signals import message_flashed


@pytest.fixture
def flash_app(app: gateway.App) -> gateway.App:
    @app.route("/flash")
    def flash_some() -> t.Any:
        gateway.flash("plain")
        gateway.flash("bad thing", "error")
        gateway.flash("heads up", "warning")
        gateway.flash(Markup("<b>safe</b>"), "info")
        return gateway.redirect(gateway.url_for("show"))

    @app.route("/show")
    def show() -> t.Any:
        args = gateway.request.args
        kwargs: dict[str, t.Any] = {"with_categories": args.get("categories") == "1"}
        if "only" in args:
            kwargs["category_filter"] = args.getlist("only")
        return gateway.jsonify(
            [
                list(m) if isinstance(m, tuple) else m
                for m in gateway.get_flashed_messages(**kwargs)
            ]
        )

    return app


def test_messages_reach_the_next_request(flash_app: gateway.App, client: t.Any) -> None:
    rv = client.get("/flash", follow_redirects=True)
    assert rv.json == ["plain", "bad thing", "heads up", "<b>safe</b>"]


def test_messages_are_consumed_once_read(flash_app: gateway.App, client: t.Any) -> None:
    client.get("/flash")
    assert len(client.get("/show").json) == 4
    assert client.get("/show").json == []


def test_with_categories(flash_app: gateway.App, client: t.Any) -> None:
    client.get("/flash")
    assert client.get("/show?categories=1").json == [
        ["message", "plain"],
        ["error", "bad thing"],
        ["warning", "heads up"],
        ["info", "<b>safe</b>"],
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("only=error", ["bad thing"], id="one-category"),
        pytest.param("only=error&only=warning", ["bad thing", "heads up"], id="two"),
        pytest.param("only=nothing", [], id="no-match"),
        pytest.param(
            "only=error&categories=1", [["error", "bad thing"]], id="with-categories"
        ),
    ],
)
def test_category_filter(
    flash_app: gateway.App, client: t.Any, query: str, expected: list[t.Any]
) -> None:
    client.get("/flash")
    assert client.get(f"/show?{query}").json == expected
    # Filtered-out messages were consumed too.
    assert client.get("/show").json == []


def test_category_filter_accepts_a_single_string(app: gateway.App) -> None:
    with app.test_request_context():
        gateway.flash("e", "error")
        gateway.flash("r", "err")
        assert gateway.get_flashed_messages(category_filter="error") == ["e"]


def test_repeated_reads_in_one_request_give_the_same_messages(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> t.Any:
        gateway.flash("once", "info")
        first = gateway.get_flashed_messages()
        second = gateway.get_flashed_messages(with_categories=True)
        third = gateway.get_flashed_messages(category_filter=["info"])
        return gateway.jsonify(first=first, second=second, third=third)

    assert client.get("/").json == {
        "first": ["once"],
        "second": [["info", "once"]],
        "third": ["once"],
    }


def test_markup_stays_markup_across_the_cookie(
    flash_app: gateway.App, client: t.Any
) -> None:
    @flash_app.route("/render")
    def render() -> str:
        return gateway.render_template_string(
            "{% for m in get_flashed_messages() %}<li>{{ m }}</li>{% endfor %}"
        )

    client.get("/flash")
    assert client.get("/render").get_data(as_text=True) == (
        "<li>plain</li><li>bad thing</li><li>heads up</li><li><b>safe</b></li>"
    )


def test_plain_messages_are_escaped_in_templates(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> str:
        gateway.flash("<script>x</script>")
        return gateway.render_template_string(
            "{% for m in get_flashed_messages() %}{{ m }}{% endfor %}"
        )

    assert client.get("/").data == b"&lt;script&gt;x&lt;/script&gt;"


def test_documented_template_with_categories(
    flash_app: gateway.App, client: t.Any
) -> None:
    template = (
        "{% with messages = get_flashed_messages(with_categories=true) %}"
        "{% if messages %}<ul class=flashes>"
        '{% for category, message in messages %}<li class="{{ category }}">{{ message }}</li>'
        "{% endfor %}</ul>{% endif %}{% endwith %}"
    )

    @flash_app.route("/page")
    def page() -> str:
        return gateway.render_template_string(template)

    client.get("/flash")
    assert client.get("/page").get_data(as_text=True) == (
        '<ul class=flashes><li class="message">plain</li>'
        '<li class="error">bad thing</li><li class="warning">heads up</li>'
        '<li class="info"><b>safe</b></li></ul>'
    )
    assert client.get("/page").data == b""


def test_documented_template_with_filter(flash_app: gateway.App, client: t.Any) -> None:
    template = (
        "{% with errors = get_flashed_messages(category_filter=['error']) %}"
        "{% if errors %}<div class=alert-message>"
        "{%- for msg in errors %}<p>{{ msg }}</p>{% endfor -%}"
        "</div>{% endif %}{% endwith %}"
    )

    @flash_app.route("/page")
    def page() -> str:
        return gateway.render_template_string(template)

    client.get("/flash")
    assert (
        client.get("/page").data == b"<div class=alert-message><p>bad thing</p></div>"
    )


def test_message_flashed_signal(app: gateway.App, client: t.Any) -> None:
    recorded: list[tuple[t.Any, str, str]] = []

    def record(sender: t.Any, message: str, category: str, **extra: t.Any) -> None:
        recorded.append((sender, message, category))

    @app.route("/")
    def index() -> str:
        gateway.flash("hello")
        gateway.flash("oops", category="error")
        return ""

    with message_flashed.connected_to(record, app):
        client.get("/")
    assert recorded == [(app, "hello", "message"), (app, "oops", "error")]


def test_flashing_needs_a_secret_key(app: gateway.App, client: t.Any) -> None:
    app.secret_key = None

    @app.route("/")
    def index() -> str:
        gateway.flash("x")
        return ""

    with pytest.raises(RuntimeError, match="no secret key"):
        client.get("/")


def test_reading_without_messages_is_empty_and_sets_no_cookie(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> t.Any:
        return gateway.jsonify(gateway.get_flashed_messages())

    rv = client.get("/")
    assert rv.json == []
    assert "Set-Cookie" not in rv.headers


def test_flashes_survive_a_request_that_does_not_read_them(
    flash_app: gateway.App, client: t.Any
) -> None:
    @flash_app.route("/other")
    def other() -> str:
        return "nothing read"

    client.get("/flash")
    client.get("/other")
    assert len(client.get("/show").json) == 4


def test_messages_flashed_in_session_transaction(
    flash_app: gateway.App, client: t.Any
) -> None:
    with client.session_transaction() as sess:
        sess["_flashes"] = [("info", "pre-seeded")]
    assert client.get("/show?categories=1").json == [["info", "pre-seeded"]]
