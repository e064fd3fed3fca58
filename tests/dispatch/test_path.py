"""PathDispatcher, Mount and the drop-in DispatcherMiddleware: the prefix picks
the application and moves from PATH_INFO to SCRIPT_NAME on a segment
boundary, on the canonical path."""

from __future__ import annotations

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware as WerkzeugDispatcher

from gateway.dispatch import DispatcherMiddleware, Mount, PathDispatcher
from gateway.prefixes import to_wsgi


@pytest.fixture
def mounts(echo) -> PathDispatcher:
    return PathDispatcher(
        echo("main"),
        mounts=[
            Mount("/api", echo("api")),
            Mount("/api/v2", echo("api-v2")),
            Mount("/admin", echo("admin")),
            Mount("/blog", echo("blog"), redirect_slash=False),
            Mount("/café", echo("cafe")),
        ],
    )


PATH_CASES = [
    pytest.param("/api/users", "api", "/api", "/users", id="under-mount"),
    pytest.param("/api/", "api", "/api", "/", id="mount-root"),
    pytest.param("/apix", "main", "", "/apix", id="not-on-segment-boundary"),
    pytest.param("/apix/y", "main", "", "/apix/y", id="lookalike-segment"),
    pytest.param("/api/v2/x", "api-v2", "/api/v2", "/x", id="longest-prefix"),
    pytest.param("/api/v2x", "api", "/api", "/v2x", id="longer-not-on-boundary"),
    pytest.param("/./admin/x", "admin", "/admin", "/x", id="dot-segment-first"),
    pytest.param("/admin/./x", "admin", "/admin", "/x", id="dot-segment-inside"),
    pytest.param("//admin//x", "admin", "/admin", "/x", id="double-slashes"),
    pytest.param(
        "/api/../admin/x", "admin", "/admin", "/x", id="dotdot-selects-what-it-shifts"
    ),
    pytest.param(
        "/admin/../x", "main", "", "/admin/../x", id="dotdot-leaving-mount-untouched"
    ),
    pytest.param("/../admin/x", "admin", "/admin", "/x", id="dotdot-above-root"),
    pytest.param("/ADMIN/x", "main", "", "/ADMIN/x", id="case-sensitive"),
    pytest.param(
        "/adm%69n/x",
        "main",
        "",
        "/adm%69n/x",
        id="percent-encoded-is-not-decoded-again",
    ),
    pytest.param("/", "main", "", "/", id="root"),
    pytest.param("", "main", "", "", id="empty"),
    pytest.param("/blog", "blog", "/blog", "/", id="bare-served-when-redirect-off"),
    pytest.param(
        to_wsgi("/café/menu"), "cafe", to_wsgi("/café"), "/menu", id="utf8-prefix"
    ),
]


@pytest.mark.parametrize(("path", "app", "script_name", "path_info"), PATH_CASES)
def test_path_edge_cases(
    mounts, call, path: str, app: str, script_name: str, path_info: str
) -> None:
    seen = call(mounts, path=path).seen
    assert (seen["app"], seen["script_name"], seen["path_info"]) == (
        app,
        script_name,
        path_info,
    )


def test_prefix_is_appended_to_an_existing_script_name(mounts, call) -> None:
    seen = call(mounts, path="/api/x", script_name="/gw").seen
    assert (seen["script_name"], seen["path_info"]) == ("/gw/api", "/x")


@pytest.mark.parametrize(
    ("path", "query", "script_name", "location"),
    [
        pytest.param("/admin", "", "", "/admin/", id="plain"),
        pytest.param("/admin", "a=1&b=%20x", "", "/admin/?a=1&b=%20x", id="query-kept"),
        pytest.param("/admin", "", "/gw", "/gw/admin/", id="under-script-name"),
        pytest.param("/api/v2", "", "", "/api/v2/", id="deep-prefix"),
        pytest.param("/./admin", "", "", "/admin/", id="canonical"),
        pytest.param(to_wsgi("/café"), "", "", "/caf%C3%A9/", id="encoded-location"),
        pytest.param(
            "/admin",
            "x=1\r\nSet-Cookie: a=b",
            "",
            "/admin/?x=1%0D%0ASet-Cookie:%20a=b",
            id="no-header-injection",
        ),
    ],
)
def test_bare_prefix_redirects_with_query(
    mounts, call, path: str, query: str, script_name: str, location: str
) -> None:
    result = call(mounts, path=path, query=query, script_name=script_name)
    assert result.status == 308
    assert result.headers["Location"] == location


def test_redirect_has_no_body_for_head(mounts, call) -> None:
    result = call(mounts, path="/admin", method="HEAD")
    assert result.status == 308 and result.body == b""


@pytest.mark.parametrize(
    ("prefixes", "message"),
    [
        pytest.param(["admin"], "must start with '/'", id="missing-leading-slash"),
        pytest.param(["/a//b"], "empty segment", id="double-slash"),
        pytest.param(["/a/../b"], "'..' segment", id="dotdot"),
        pytest.param(
            ["/a", "/a/"], "duplicate mount '/a'", id="duplicate-after-normalising"
        ),
        pytest.param(["/"], "is not a prefix", id="root"),
    ],
)
def test_bad_mounts_are_refused_at_registration(
    echo, prefixes: list[str], message: str
) -> None:
    dispatcher = PathDispatcher(echo("main"))
    with pytest.raises(ValueError, match=message):
        for prefix in prefixes:
            dispatcher.mount(prefix, echo(prefix))


def test_mount_requires_a_callable() -> None:
    with pytest.raises(TypeError, match="not callable"):
        Mount("/a", "nope")  # type: ignore[arg-type]


def test_mount_repr_and_name(echo) -> None:
    mount = Mount("/api/v1/", echo("api"), host="*")
    assert mount.prefix == "/api/v1" and mount.name == "api/v1"
    assert repr(mount).startswith(
        "<Mount '/api/v1' -> <function echo_api"
    ) and "host='*'" in repr(mount)
    assert Mount("/x", echo("x"), name="x-app").name == "x-app"


def test_mounts_added_later_are_served(echo, call) -> None:
    dispatcher = PathDispatcher(echo("main"))
    assert call(dispatcher, path="/late/x").seen["app"] == "main"
    dispatcher.mount("/late", echo("late"))
    assert call(dispatcher, path="/late/x").seen["app"] == "late"
    assert [m.prefix for m in dispatcher.mounts] == ["/late"]
    assert "'/late'" in repr(dispatcher)


def test_no_default_app_is_404(call, echo) -> None:
    dispatcher = PathDispatcher(mounts=[Mount("/a", echo("a"))])
    assert call(dispatcher, path="/b").status == 404


# -- the documented PathDispatcher (dynamic first segment) ------------------------


def test_documented_path_dispatcher(echo, call, clock) -> None:
    calls: list[str] = []

    def make_app(prefix: str):
        calls.append(prefix)
        if prefix in ("alice", "bob"):
            return echo(f"user-{prefix}")
        return None

    application = PathDispatcher(echo("default"), make_app, clock=clock)
    seen = call(application, path="/alice/profile").seen
    assert (seen["app"], seen["script_name"], seen["path_info"]) == (
        "user-alice",
        "/alice",
        "/profile",
    )
    # the segment that chose the app is the segment that is shifted
    seen = call(application, path="/./bob/x").seen
    assert (seen["app"], seen["script_name"], seen["path_info"]) == (
        "user-bob",
        "/bob",
        "/x",
    )
    seen = call(application, path="/nobody/x").seen
    assert (seen["app"], seen["script_name"], seen["path_info"]) == (
        "default",
        "",
        "/nobody/x",
    )
    call(application, path="/nobody/y")
    assert calls.count("nobody") == 1  # None is remembered for a while
    assert calls.count("alice") == 1
    assert call(application, path="/alice").headers["Location"] == "/alice/"
    assert call(application, path="/").seen["app"] == "default"
    assert application.get_application("alice") is not None
    assert application.get_application("nobody") is None


def test_static_mounts_win_over_dynamic_segments(echo, call) -> None:
    application = PathDispatcher(
        echo("default"),
        lambda p: echo(f"dyn-{p}"),
        mounts=[Mount("/static", echo("static"))],
    )
    assert call(application, path="/static/x").seen["app"] == "static"
    assert call(application, path="/acme/x").seen["app"] == "dyn-acme"


DYNAMIC_CASES = [
    pytest.param("/acme/x", "dyn-acme", "/acme", "/x", id="dynamic segment"),
    pytest.param("/acme/", "dyn-acme", "/acme", "/", id="segment root"),
    pytest.param("/acme", "dyn-acme", "/acme", "/", id="bare segment served"),
    pytest.param(
        "/acme/admin/y", "acme-admin", "/acme/admin", "/y", id="static mount inside"
    ),
    pytest.param("/acme/admin", "acme-admin", "/acme/admin", "/", id="static bare"),
    pytest.param(
        "/acme/adminx", "dyn-acme", "/acme", "/adminx", id="shares first segment only"
    ),
    pytest.param("/acme/./x", "dyn-acme", "/acme", "/x", id="dot segment inside"),
    pytest.param("//acme/x", "dyn-acme", "/acme", "/x", id="double slash first"),
    pytest.param("/acme//x", "dyn-acme", "/acme", "/x", id="double slash inside"),
    pytest.param("/acme/../static/x", "static", "/static", "/x", id="dotdot out"),
    pytest.param("/static/x", "static", "/static", "/x", id="static"),
    pytest.param("/nobody/x", "default", "", "/nobody/x", id="factory says none"),
    pytest.param("acme/x", "default", "", "acme/x", id="relative PATH_INFO"),
    pytest.param("/acme%2Fx/y", "dyn-acme%2Fx", "/acme%2Fx", "/y", id="encoded slash"),
]


@pytest.mark.parametrize(("path", "app", "script_name", "path_info"), DYNAMIC_CASES)
def test_dynamic_segment_edge_cases(
    echo, call, path: str, app: str, script_name: str, path_info: str
) -> None:
    application = PathDispatcher(
        echo("default"),
        lambda p: None if p == "nobody" else echo(f"dyn-{p}"),
        redirect_slash=False,
    )
    application.mount("/static", echo("static"))
    application.mount("/acme/admin", echo("acme-admin"))
    for _ in range(2):  # the first request builds the app, the second hits it
        seen = call(application, path=path).seen
        assert (seen["app"], seen["script_name"], seen["path_info"]) == (
            app,
            script_name,
            path_info,
        )


def test_dynamic_segment_under_an_existing_script_name(echo, call) -> None:
    application = PathDispatcher(echo("default"), lambda p: echo(f"dyn-{p}"))
    for _ in range(2):
        seen = call(application, path="/acme/x", script_name="/gw").seen
        assert (seen["script_name"], seen["path_info"]) == ("/gw/acme", "/x")


@pytest.mark.parametrize(
    ("path", "script_name"),
    [
        pytest.param("/nobody/x", "/gw", id="fast path"),
        pytest.param("/nobody//x", "/gw", id="non-canonical, as it came"),
        pytest.param("/nobody/./x", "", id="dot segment, as it came"),
        pytest.param("/nobody", "/gw", id="bare segment"),
    ],
)
def test_a_segment_without_an_app_reaches_the_default_app_unmoved(
    echo, call, path: str, script_name: str
) -> None:
    # The segment moves into SCRIPT_NAME before the registry knows whether
    # it has an app; the default app sees the environ as it came.
    for redirect_slash in (True, False):
        application = PathDispatcher(
            echo("default"),
            lambda p: None if p == "nobody" else echo(p),
            redirect_slash=redirect_slash,
        )
        for _ in range(2):  # the factory's None, then the remembered None
            seen = call(application, path=path, script_name=script_name).seen
            assert (seen["app"], seen["script_name"], seen["path_info"]) == (
                "default",
                script_name,
                path,
            )


OMITTED_CASES = [
    # (path or None: PATH_INFO omitted, SCRIPT_NAME omitted?) -> what the app saw
    pytest.param("/api/x", True, "api", "/api", "/x", id="static, no SCRIPT_NAME"),
    pytest.param(
        "/acme/x", True, "dyn-acme", "/acme", "/x", id="dynamic, no SCRIPT_NAME"
    ),
    pytest.param(
        "/nobody/x", True, "default", "", "/nobody/x", id="no app, no SCRIPT_NAME"
    ),
    pytest.param("/a/./x", True, "dyn-a", "/a", "/x", id="slow path, no SCRIPT_NAME"),
    pytest.param(None, False, "default", "/gw", None, id="no PATH_INFO"),
    pytest.param(None, True, "default", None, None, id="neither"),
]


@pytest.mark.parametrize(
    ("path", "omit_script", "app", "script_name", "path_info"), OMITTED_CASES
)
def test_omitted_path_info_and_script_name_are_empty(
    echo,
    call,
    make_environ,
    path: str | None,
    omit_script: bool,
    app: str,
    script_name: str | None,
    path_info: str | None,
) -> None:
    # PEP 3333 lets a server omit PATH_INFO and SCRIPT_NAME when empty.
    application = PathDispatcher(
        echo("default"),
        lambda p: None if p == "nobody" else echo(f"dyn-{p}"),
        mounts=[Mount("/api", echo("api"))],
    )
    for _ in range(2):  # the first request builds the app, the second hits it
        environ = make_environ(path or "/", script_name="/gw")
        if path is None:
            del environ["PATH_INFO"]
        if omit_script:
            del environ["SCRIPT_NAME"]
        seen = call(application, environ).seen
        assert (seen["app"], seen["script_name"], seen["path_info"]) == (
            app,
            script_name,
            path_info,
        )


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/alice", id="bare-segment"),
        pytest.param("/alice/x", id="below-the-segment"),
    ],
)
def test_failing_path_factory_is_503(echo, call, path: str) -> None:
    def make_app(prefix: str):
        raise RuntimeError("db down")

    application = PathDispatcher(echo("default"), make_app)
    result = call(application, path=path)
    assert result.status == 503 and "Retry-After" in result.headers
    assert b"db down" not in result.body


# -- DispatcherMiddleware, as Werkzeug's ----------------------------------------------


COMPAT_PATHS = [
    pytest.param("/backend/x", id="under"),
    pytest.param("/backend", id="bare-no-redirect"),
    pytest.param("/backend/", id="trailing-slash"),
    pytest.param("/backendx", id="not-boundary"),
    pytest.param("/backend/admin/x", id="nested-mount"),
    pytest.param("/backend/admin", id="nested-bare"),
    pytest.param("/", id="root"),
    pytest.param("/other", id="unmounted"),
]


@pytest.mark.parametrize("path", COMPAT_PATHS)
def test_dispatcher_middleware_matches_werkzeug(echo, call, path: str) -> None:
    mounts = {"/backend": echo("backend"), "/backend/admin": echo("admin")}
    ours = DispatcherMiddleware(echo("front"), mounts)
    theirs = WerkzeugDispatcher(echo("front"), mounts)
    assert (
        call(ours, path=path, script_name="/s").seen
        == call(theirs, path=path, script_name="/s").seen
    )


def test_dispatcher_middleware_attributes(echo) -> None:
    front, back = echo("front"), echo("back")
    application = DispatcherMiddleware(front, {"/backend/": back})
    assert application.app is front
    assert application.mounts == {"/backend": back}


def test_dispatcher_middleware_validates_keys(echo) -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        DispatcherMiddleware(echo("front"), {"backend": echo("back")})
