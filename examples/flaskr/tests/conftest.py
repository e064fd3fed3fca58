"""Fixtures for the flaskr example: the tutorial's module-level app, pointed at
a fresh database in a temporary directory for every test."""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
if str(EXAMPLE_DIR) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_DIR))

import flaskr  # noqa: E402


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Any:
    """The flaskr app with a temporary database, TESTING on, config restored after."""
    monkeypatch.setitem(flaskr.app.config, "DATABASE", str(tmp_path / "flaskr.db"))
    monkeypatch.setitem(flaskr.app.config, "TESTING", True)
    flaskr.init_db()
    return flaskr.app


@pytest.fixture
def client(app: t.Any) -> t.Any:
    return app.test_client()


class AuthActions:
    """Log the test client in and out the way a browser would."""

    def __init__(self, client: t.Any) -> None:
        self.client = client

    def login(self, username: str = "admin", password: str = "default") -> t.Any:
        return self.client.post(
            "/login",
            data={"username": username, "password": password},
            follow_redirects=True,
        )

    def logout(self) -> t.Any:
        return self.client.get("/logout", follow_redirects=True)


@pytest.fixture
def auth(client: t.Any) -> AuthActions:
    return AuthActions(client)
