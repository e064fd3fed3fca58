"""``send_file`` and ``send_from_directory``: sources, mimetypes, downloads,
conditional and range requests, caching, and refusal of path traversal."""

from __future__ import annotations

import io
import os

import pytest
from werkzeug.exceptions import NotFound

import gateway

CONTENT = b"0123456789abcdefghij"


@pytest.fixture
def files(tmp_path, make_tree):
    make_tree(
        tmp_path,
        {
            "public/data.txt": CONTENT.decode(),
            "public/page.html": "<p>hi</p>",
            "public/sub/nested.txt": "nested",
            "secret.txt": "TOP SECRET",
        },
    )
    return tmp_path


@pytest.fixture
def file_app(files):
    app = gateway.App("files_app", root_path=str(files), static_folder=None)
    app.config["TESTING"] = True

    @app.route("/path/<path:name>")
    def by_path(name):
        return gateway.send_file(os.path.join("public", name))

    @app.route("/dir/<path:name>")
    def from_dir(name):
        return gateway.send_from_directory(files / "public", name)

    @app.route("/download")
    def download():
        return gateway.send_file(
            "public/data.txt", as_attachment=True, download_name="report ü.txt"
        )

    @app.route("/bytes")
    def from_bytes():
        return gateway.send_file(io.BytesIO(b"in memory"), mimetype="text/plain")

    return app


def _get(client, url, **kwargs):
    """GET and close the response (file responses hold an open file)."""
    with client.get(url, **kwargs) as rv:
        rv.get_data()
        return rv


def test_send_file_by_path_relative_to_root_path(file_app):
    rv = _get(file_app.test_client(), "/path/data.txt")
    assert rv.status_code == 200
    assert rv.data == CONTENT
    assert rv.mimetype == "text/plain"
    assert rv.headers["Content-Length"] == str(len(CONTENT))


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        pytest.param("data.txt", "text/plain", id="txt"),
        pytest.param("page.html", "text/html", id="html"),
    ],
)
def test_send_file_guesses_mimetype_from_name(file_app, name, mimetype):
    assert _get(file_app.test_client(), f"/path/{name}").mimetype == mimetype


def test_send_file_from_an_open_file_object(files, app):
    with app.test_request_context():
        with open(files / "public" / "data.txt", "rb") as f:
            rv = gateway.send_file(f, mimetype="text/plain")
            rv.direct_passthrough = False
            assert rv.get_data() == CONTENT
            rv.close()


def test_send_file_from_bytesio(file_app):
    rv = _get(file_app.test_client(), "/bytes")
    assert rv.data == b"in memory"
    assert rv.mimetype == "text/plain"


def test_send_file_bytesio_mimetype_from_download_name(app):
    with app.test_request_context():
        rv = gateway.send_file(io.BytesIO(b"{}"), download_name="x.json")
        assert rv.mimetype == "application/json"
        rv.close()


def test_send_file_bytesio_without_name_or_mimetype_is_an_error(app):
    with app.test_request_context():
        with pytest.raises((TypeError, ValueError), match="download_name"):
            gateway.send_file(io.BytesIO(b"?"))


def test_send_file_as_attachment_with_download_name(file_app):
    rv = _get(file_app.test_client(), "/download")
    disposition = rv.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename=" in disposition
    assert "filename*=UTF-8''report%20%C3%BC.txt" in disposition


def test_send_file_inline_with_download_name(app, files):
    with app.test_request_context():
        rv = gateway.send_file(
            str(files / "public" / "data.txt"), download_name="shown.txt"
        )
        assert rv.headers["Content-Disposition"] == "inline; filename=shown.txt"
        rv.close()


def test_conditional_request_with_etag_is_304(file_app):
    client = file_app.test_client()
    first = _get(client, "/path/data.txt")
    etag = first.headers["ETag"]

    rv = _get(client, "/path/data.txt", headers={"If-None-Match": etag})
    assert rv.status_code == 304
    assert rv.data == b""
    other = _get(client, "/path/data.txt", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200


def test_conditional_request_with_last_modified_is_304(file_app):
    client = file_app.test_client()
    last_modified = _get(client, "/path/data.txt").headers["Last-Modified"]

    rv = _get(client, "/path/data.txt", headers={"If-Modified-Since": last_modified})
    assert rv.status_code == 304


@pytest.mark.parametrize(
    ("range_header", "status", "body", "content_range"),
    [
        pytest.param("bytes=0-4", 206, CONTENT[:5], "bytes 0-4/20", id="first-bytes"),
        pytest.param("bytes=10-", 206, CONTENT[10:], "bytes 10-19/20", id="open-ended"),
        pytest.param("bytes=-3", 206, CONTENT[-3:], "bytes 17-19/20", id="suffix"),
        pytest.param("bytes=50-60", 416, None, "bytes */20", id="unsatisfiable-416"),
    ],
)
def test_range_requests(file_app, range_header, status, body, content_range):
    rv = _get(file_app.test_client(), "/path/data.txt", headers={"Range": range_header})
    assert rv.status_code == status
    assert rv.headers["Content-Range"] == content_range
    if body is not None:
        assert rv.data == body
        assert rv.headers["Accept-Ranges"] == "bytes"


def test_etag_and_conditional_can_be_turned_off(app, files):
    with app.test_request_context(headers={"Range": "bytes=0-1"}):
        rv = gateway.send_file(
            str(files / "public" / "data.txt"), etag=False, conditional=False
        )
        assert "ETag" not in rv.headers
        assert rv.status_code == 200
        rv.close()


@pytest.mark.parametrize(
    ("config", "max_age", "expected"),
    [
        pytest.param(None, None, "no-cache", id="default"),
        pytest.param(120, None, "public, max-age=120", id="config"),
        pytest.param(None, 10, "public, max-age=10", id="argument"),
        pytest.param(120, 5, "public, max-age=5", id="argument-wins"),
    ],
)
def test_send_file_cache_control(app, files, config, max_age, expected):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = config
    with app.test_request_context():
        rv = gateway.send_file(str(files / "public" / "data.txt"), max_age=max_age)
        assert rv.headers["Cache-Control"] == expected
        rv.close()


def test_use_x_sendfile_sends_header_and_no_body(app, files):
    app.config["USE_X_SENDFILE"] = True
    path = str(files / "public" / "data.txt")
    with app.test_request_context():
        rv = gateway.send_file(path)
        assert rv.headers["X-Sendfile"] == path
        assert rv.get_data() == b""
        rv.close()


# -- send_from_directory -----------------------------------------------------


def test_send_from_directory_serves_files_and_subfolders(file_app):
    client = file_app.test_client()
    assert _get(client, "/dir/data.txt").data == CONTENT
    assert _get(client, "/dir/sub/nested.txt").data == b"nested"
    assert _get(client, "/dir/missing.txt").status_code == 404
    assert _get(client, "/dir/sub").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/dir/../secret.txt", id="dotdot"),
        pytest.param("/dir/sub/../../secret.txt", id="nested-dotdot"),
        pytest.param("/dir/..%2fsecret.txt", id="encoded-slash"),
        pytest.param("/dir/..%2Fsecret.txt", id="encoded-slash-upper"),
        pytest.param("/dir/%2e%2e%2fsecret.txt", id="all-encoded"),
        pytest.param("/dir/data.txt%00", id="nul-byte"),
        pytest.param("/dir/%00../secret.txt", id="nul-then-dotdot"),
    ],
)
def test_send_from_directory_refuses_traversal_urls_with_404(file_app, url):
    rv = _get(file_app.test_client(), url, follow_redirects=True)
    assert rv.status_code == 404
    assert b"TOP SECRET" not in rv.data


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../secret.txt", id="dotdot"),
        pytest.param("sub/../../secret.txt", id="nested-dotdot"),
        pytest.param("SECRET", id="absolute"),  # replaced by the real path below
        pytest.param("/etc/passwd", id="absolute-system-file"),
        pytest.param("data.txt\x00", id="nul-byte"),
        pytest.param("..", id="parent-itself"),
        pytest.param("", id="empty"),
        pytest.param(".", id="directory-itself"),
    ],
)
def test_send_from_directory_refuses_unsafe_names(app, files, name):
    if name == "SECRET":
        name = str(files / "secret.txt")
    with app.test_request_context():
        with pytest.raises(NotFound):
            gateway.send_from_directory(files / "public", name)


def test_send_from_directory_relative_directory_uses_root_path(files):
    app = gateway.App("files_app", root_path=str(files), static_folder=None)
    with app.test_request_context():
        rv = gateway.send_from_directory("public", "data.txt")
        rv.direct_passthrough = False
        assert rv.get_data() == CONTENT
        rv.close()


def test_send_from_directory_passes_options(app, files):
    with app.test_request_context():
        rv = gateway.send_from_directory(
            files / "public", "data.txt", as_attachment=True, max_age=7
        )
        assert rv.headers["Content-Disposition"] == "attachment; filename=data.txt"
        assert rv.cache_control.max_age == 7
        rv.close()


def test_send_file_explicit_mimetype_etag_and_last_modified(app, files):
    path = str(files / "public" / "data.txt")
    with app.test_request_context():
        rv = gateway.send_file(
            path, mimetype="application/x-custom", etag="v1", last_modified=86400
        )
        assert rv.mimetype == "application/x-custom"
        assert rv.headers["ETag"] == '"v1"'
        assert rv.headers["Last-Modified"] == "Fri, 02 Jan 1970 00:00:00 GMT"
        rv.close()
    with app.test_request_context(headers={"If-None-Match": '"v1"'}):
        rv = gateway.send_file(path, etag="v1")
        assert rv.status_code == 304
        rv.close()


def test_send_file_missing_path_is_file_not_found(app, files):
    with app.test_request_context():
        with pytest.raises(FileNotFoundError):
            gateway.send_file(str(files / "public" / "absent.txt"))
