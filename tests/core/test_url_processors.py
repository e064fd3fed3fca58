"""The documented URL-processors pattern: a language code carried in URLs.

Once for an app (``url_defaults`` + ``url_value_preprocessor`` checking
``url_map.is_endpoint_expecting``) and once for a blueprint mounted at
``/<lang_code>`` (``setdefault`` / ``pop``), as the documentation shows.
"""

from __future__ import annotations

import pytest

import gateway


@pytest.fixture
def app_pattern(app):
    @app.url_defaults
    def add_language_code(endpoint, values):
        if "lang_code" in values or not gateway.g.get("lang_code"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
            values["lang_code"] = gateway.g.lang_code

    @app.url_value_preprocessor
    def pull_lang_code(endpoint, values):
        gateway.g.lang_code = values.pop("lang_code", None) if values else None

    @app.route("/<lang_code>/")
    def index():
        return {
            "lang": gateway.g.lang_code,
            "about": gateway.url_for("about"),
            "other": gateway.url_for("about", lang_code="de"),
            "plain": gateway.url_for("plain"),
        }

    @app.route("/<lang_code>/about")
    def about():
        return gateway.g.lang_code

    @app.route("/plain")
    def plain():
        return str(gateway.g.lang_code)

    return app


def test_app_url_processors_pull_and_inject_the_language(app_pattern, client):
    assert client.get("/fr/").json == {
        "lang": "fr",
        "about": "/fr/about",
        "other": "/de/about",
        "plain": "/plain",
    }
    assert client.get("/en/about").data == b"en"


def test_views_do_not_receive_the_popped_value(app_pattern, client):
    # The views take no lang_code argument: a TypeError would surface here.
    assert client.get("/it/about").status_code == 200


def test_endpoints_without_the_value_are_untouched(app_pattern, client):
    assert client.get("/plain").data == b"None"


def test_url_for_without_language_in_context_needs_it(app_pattern):
    with app_pattern.test_request_context("/plain"):
        app_pattern.preprocess_request()
        with pytest.raises(Exception, match="lang_code"):
            gateway.url_for("about")


@pytest.fixture
def bp_pattern(app):
    bp = gateway.Blueprint("frontend", __name__, url_prefix="/<lang_code>")

    @bp.url_defaults
    def add_language_code(endpoint, values):
        values.setdefault("lang_code", gateway.g.lang_code)

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint, values):
        gateway.g.lang_code = values.pop("lang_code")

    @bp.route("/")
    def index():
        return {
            "lang": gateway.g.lang_code,
            "about": gateway.url_for(".about"),
            "absolute": gateway.url_for("frontend.about"),
            "switch": gateway.url_for(".about", lang_code="ja"),
        }

    @bp.route("/about")
    def about():
        return gateway.g.lang_code

    @app.route("/")
    def root():
        return str("lang_code" in gateway.g)

    app.register_blueprint(bp)
    return app


def test_blueprint_url_processors_pull_and_inject_the_language(bp_pattern, client):
    assert client.get("/es/").json == {
        "lang": "es",
        "about": "/es/about",
        "absolute": "/es/about",
        "switch": "/ja/about",
    }
    assert client.get("/pt/about").data == b"pt"


def test_app_routes_are_not_affected_by_blueprint_processors(bp_pattern, client):
    assert client.get("/").data == b"False"


def test_preprocessors_run_before_before_request(bp_pattern, client):
    seen = []
    bp_pattern.before_request(lambda: seen.append(gateway.g.get("lang_code")))
    client.get("/nl/about")
    assert seen == ["nl"]
