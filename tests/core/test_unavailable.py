"""Unavailable and unavailable_handler: a store that is down answers 503 with
Retry-After and a clear page, through the app's own 503 handler, never 500."""

from __future__ import annotations

import logging
import typing as t
from datetime import UTC, datetime

import pytest

from gateway import App, Blueprint, Unavailable, unavailable_handler
from gateway.toml import TenantsConfig
from gateway.unavailable import DEFAULT_RETRY_AFTER, retry_after_value


class StoreDown(Exception):
    """What a database driver raises when it cannot connect."""


def make_app(**config: t.Any) -> App:
    app = App(__name__)
    app.config.update(config)

    @app.get("/raises")
    def raises() -> str:
        raise Unavailable(retry_after=3)

    @app.get("/default")
    def default() -> str:
        raise Unavailable()

    @app.get("/driver")
    def driver() -> str:
        raise StoreDown("connection refused")

    return app


@pytest.mark.parametrize(
    ("value", "header"),
    [
        pytest.param(None, str(int(DEFAULT_RETRY_AFTER)), id="none-default"),
        pytest.param(0, "1", id="zero-is-one"),
        pytest.param(0.2, "1", id="fraction-rounds-up"),
        pytest.param(2, "2", id="whole"),
        pytest.param(2.5, "3", id="half-rounds-up"),
        pytest.param(
            datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
            "Wed, 02 Jan 2030 03:04:05 GMT",
            id="date",
        ),
    ],
)
def test_retry_after_value(value: t.Any, header: str) -> None:
    assert retry_after_value(value) == header


def test_default_retry_after_is_the_tenants_back_off_default() -> None:
    assert DEFAULT_RETRY_AFTER == TenantsConfig.retry_after


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(-1, id="negative"),
        pytest.param("5", id="string"),
        pytest.param(True, id="bool"),
    ],
)
def test_bad_retry_after_is_refused_at_construction(value: t.Any) -> None:
    with pytest.raises(ValueError, match="retry_after must be a number of seconds"):
        Unavailable(retry_after=value)


@pytest.mark.parametrize(
    ("path", "retry"),
    [
        pytest.param("/raises", "3", id="own-retry-after"),
        pytest.param("/default", str(int(DEFAULT_RETRY_AFTER)), id="default"),
    ],
)
def test_raised_in_a_view_answers_503_with_retry_after_and_a_clear_page(
    path: str, retry: str
) -> None:
    response = make_app().test_client().get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == retry
    assert response.mimetype == "text/html"
    assert "try again" in response.text and "Traceback" not in response.text


def test_head_gets_the_headers_without_a_body() -> None:
    response = make_app().test_client().head("/raises")
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert response.data == b""


def test_driver_error_without_a_handler_is_still_a_500() -> None:
    """The handler is what turns it into 503: nothing is guessed."""
    response = make_app(PROPAGATE_EXCEPTIONS=False).test_client().get("/driver")
    assert response.status_code == 500


def test_handler_turns_a_driver_error_into_503_logged_as_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app()
    app.register_error_handler(StoreDown, unavailable_handler(retry_after=2))
    with caplog.at_level(logging.DEBUG):
        response = app.test_client().get("/driver")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert "try again" in response.text
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    message = warnings[0].getMessage()
    assert "GET /driver" in message and "StoreDown: connection refused" in message


def test_the_apps_own_503_handler_renders_the_page_and_keeps_retry_after() -> None:
    app = make_app()
    app.register_error_handler(
        StoreDown, unavailable_handler(description="The shop's database is down.")
    )
    seen: list[BaseException | None] = []

    @app.errorhandler(503)
    def down(error: Unavailable) -> t.Any:
        seen.append(error.__cause__)
        return (
            f"<h1>Back soon</h1><p>{error.description}</p>",
            503,
            {"Retry-After": error.get_headers()[-1][1]},
        )

    for path, description in [
        ("/driver", "The shop's database is down."),
        ("/raises", Unavailable.description),
    ]:
        response = app.test_client().get(path)
        assert response.status_code == 503 and "Back soon" in response.text
        assert description in response.text
        assert response.headers["Retry-After"]
    assert isinstance(seen[0], StoreDown) and seen[1] is None


def test_blueprint_app_errorhandler_covers_the_whole_app() -> None:
    app = make_app()
    bp = Blueprint("db", __name__)
    bp.app_errorhandler(StoreDown)(unavailable_handler())
    app.register_blueprint(bp)
    response = app.test_client().get("/driver")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(int(DEFAULT_RETRY_AFTER))
