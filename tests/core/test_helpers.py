"""``redirect`` and ``abort`` helpers and their app-level counterparts."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

import gateway


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(301, id="301"),
        pytest.param(302, id="302"),
        pytest.param(303, id="303"),
        pytest.param(305, id="305"),
        pytest.param(307, id="307"),
        pytest.param(308, id="308"),
    ],
)
def test_redirect_codes(app, client, code):
    app.add_url_rule("/", "index", lambda: gateway.redirect("/target", code))

    rv = client.get("/")
    assert rv.status_code == code
    assert rv.headers["Location"] == "/target"


def test_redirect_default_is_302_with_a_link_body(app, client):
    app.add_url_rule("/", "index", lambda: gateway.redirect("/target"))

    rv = client.get("/")
    assert rv.status_code == 302
    assert b'href="/target"' in rv.data


def test_redirect_to_a_unicode_location_is_iri_encoded(app, client):
    app.add_url_rule("/", "index", lambda: gateway.redirect("/straße?q=ü"))

    assert client.get("/").headers["Location"] == "/stra%C3%9Fe?q=%C3%BC"


def test_redirect_with_url_for(app, client):
    app.add_url_rule("/login", "login", lambda: "login page")
    app.add_url_rule("/", "index", lambda: gateway.redirect(gateway.url_for("login")))

    assert client.get("/", follow_redirects=True).data == b"login page"


def test_redirect_uses_the_current_app_response_class(app, req_ctx):
    class MyResponse(gateway.Response):
        pass

    app.response_class = MyResponse
    assert isinstance(gateway.redirect("/x"), MyResponse)


def test_redirect_outside_app_context_honours_response_argument():
    class Explicit(WerkzeugResponse):
        pass

    # Inside an app context app.redirect (and so app.response_class) wins.
    assert isinstance(gateway.redirect("/x", Response=Explicit), Explicit)


def test_redirect_outside_app_context_uses_werkzeug_default():
    response = gateway.redirect("/x", 303)
    assert response.status_code == 303
    assert response.location == "/x"


def test_app_redirect_can_be_overridden(tmp_path):
    class Always303(gateway.App):
        def redirect(self, location, code=302):
            return super().redirect(location, 303)

    app = Always303("r303", root_path=str(tmp_path))
    app.add_url_rule("/", "index", lambda: gateway.redirect("/x"))
    assert app.test_client().get("/").status_code == 303


def test_abort_outside_app_context_still_raises():
    with pytest.raises(NotFound):
        gateway.abort(404)


def test_abort_uses_the_app_aborter_class(tmp_path):
    class Custom(HTTPException):
        code = 451
        description = "legal"

    class MyApp(gateway.App):
        def make_aborter(self):
            aborter = super().make_aborter()
            aborter.mapping[451] = Custom
            return aborter

    app = MyApp("aborts", root_path=str(tmp_path))
    app.add_url_rule("/", "index", lambda: gateway.abort(451))
    rv = app.test_client().get("/")
    assert rv.status_code == 451
    assert b"legal" in rv.data


def test_abort_with_response_and_description(req_ctx):
    with pytest.raises(HTTPException) as exc_info:
        gateway.abort(gateway.Response("body", 402))
    assert exc_info.value.get_response().status_code == 402
