"""Drive notes_app with its test client and print what happened, as JSON.

Run in a child process under ``GATEWAY_FLASK_COMPAT=1`` (and ``-W error``) by
tests/compat/test_extensions_app.py, which asserts on the output:
``python drive_notes_app.py INSTANCE_DIR``. Like the app, it imports
``flask``, never ``gateway`` (but for the one check of which core runs).
"""

from __future__ import annotations

import json
import re
import sys
import typing as t

import flask
from notes_app import API_ORIGIN, create_app

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def token(html: str) -> str:
    found = TOKEN.search(html)
    if found is None:
        raise AssertionError(f"no CSRF token in:\n{html}")
    return found.group(1)


def response(r: t.Any) -> dict[str, t.Any]:
    """What a test needs of a response (CSRF tokens, which differ from run
    to run, masked)."""
    return {
        "status": r.status_code,
        "location": r.headers.get("Location"),
        "text": TOKEN.sub(
            'name="csrf_token" type="hidden" value="..."', r.get_data(as_text=True)
        ),
    }


def main(instance: str) -> dict[str, t.Any]:
    import gateway

    app = create_app("alpha", instance, secret_key="drive_notes_app secret")
    app.testing = True
    client = app.test_client()
    out: dict[str, t.Any] = {
        "core": {
            "flask.Flask is gateway.App": flask.Flask is gateway.App,
            "app class": f"{type(app).__module__}.{type(app).__qualname__}",
            "flask.request is gateway.request": flask.request is gateway.request,
            "session interface": type(app.session_interface).__name__,
        }
    }

    # Flask-Login: anonymous users are sent to the login page.
    out["anonymous notes"] = response(client.get("/notes"))

    # Flask-WTF: CSRF on the register form, then a registration that logs in.
    form = client.get("/register").get_data(as_text=True)
    credentials = {"name": "alice", "password": "s3cret"}
    out["register without token"] = response(client.post("/register", data=credentials))
    out["register with a wrong token"] = response(
        client.post("/register", data={**credentials, "csrf_token": "forged"})
    )
    out["register"] = response(
        client.post("/register", data={**credentials, "csrf_token": token(form)})
    )
    out["whoami after register"] = client.get("/whoami").get_json()

    # Flask-Session: the cookie is a session id; the data is in the store.
    cookie = client.get_cookie("session")
    store = app.session_interface
    stored = store.cache.get(f"{store.key_prefix}{cookie.value}")
    out["session"] = {
        # 32 random bytes, URL-safe base64: no payload, no signature.
        "cookie is a session id": bool(
            re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)
        ),
        "stored under it": sorted(stored) if stored else None,
    }

    # Notes: add two (CSRF-protected), list them; a post without token fails.
    page = client.get("/notes").get_data(as_text=True)
    out["add note"] = response(
        client.post("/notes", data={"text": "first", "csrf_token": token(page)})
    )
    client.post("/notes", data={"text": "second", "csrf_token": token(page)})
    out["add note without token"] = response(
        client.post("/notes", data={"text": "third"})
    )
    listing = client.get("/notes").get_data(as_text=True)
    out["notes"] = re.findall(r'<li class="note">([^<]*)</li>', listing)

    # Logout, then the login_required redirect and logging in again.
    out["logout"] = response(client.get("/logout"))
    out["whoami after logout"] = client.get("/whoami").get_json()
    out["notes after logout"] = response(client.get("/notes"))
    page = client.get("/login?next=/notes").get_data(as_text=True)
    out["login with a wrong password"] = response(
        client.post(
            "/login?next=/notes",
            data={"name": "alice", "password": "wrong", "csrf_token": token(page)},
        )
    )
    out["whoami after a wrong password"] = client.get("/whoami").get_json()
    out["login"] = response(
        client.post(
            "/login?next=/notes",
            data={**credentials, "csrf_token": token(page)},
        )
    )
    out["whoami after login"] = client.get("/whoami").get_json()

    # Flask-Babel: the locale from Accept-Language.
    for language in ("en", "de", "fr, de;q=0.5", "fr"):
        html = client.get("/", headers={"Accept-Language": language})
        text = html.get_data(as_text=True)
        out[f"home in {language}"] = {
            "heading": re.search(r"<h1>([^<]*)</h1>", text).group(1),
            "launch": re.search(r'<p id="launch">([^<]*)</p>', text).group(1),
            "html lang": re.search(r'<html lang="([^"]*)"', text).group(1),
        }
    # The login message Flask-Login flashes, translated, after the redirect.
    anonymous = app.test_client()
    anonymous.get("/notes", headers={"Accept-Language": "de"})
    text = anonymous.get("/login", headers={"Accept-Language": "de"}).get_data(
        as_text=True
    )
    out["flashed in de"] = re.findall(r'<p class="flash">([^<]*)</p>', text)

    # Flask-Caching: the second request is served from the cache.
    out["cached"] = [client.get("/cached").get_json()["renders"] for _ in range(3)]

    # Flask-Cors: only /api/*, only for the allowed origin.
    def acao(path: str, origin: str) -> str | None:
        r = client.get(path, headers={"Origin": origin})
        return r.headers.get("Access-Control-Allow-Origin")

    out["cors"] = {
        "api, allowed origin": acao("/api/stats", API_ORIGIN),
        "api, other origin": acao("/api/stats", "https://evil.example"),
        "page, allowed origin": acao("/", API_ORIGIN),
    }
    out["api stats"] = client.get("/api/stats").get_json()

    # Flask-Limiter: 3 per minute.
    limited = [client.get("/limited") for _ in range(4)]
    out["limited"] = {
        "statuses": [r.status_code for r in limited],
        "limit header": limited[0].headers.get("X-RateLimit-Limit"),
    }
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
