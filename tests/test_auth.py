"""Who is asking, and when access ends: sessions, tokens, passwords, login limits (issue 12)."""
from __future__ import annotations

import pytest

from server.auth import AuthError, check_password_strength, create_user

from .conftest import PASSWORD
from .test_api import error_code


def _browser(app, address="192.168.1.20"):
    """A staff browser on the LAN: it sends Origin with every POST, as browsers do."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


ORIGIN = {"Origin": "http://192.168.1.2:8000"}


def _browser_login(browser, username="canbo1", password=PASSWORD):
    r = browser.post("/api/auth/login", json={"username": username, "password": password}, headers=ORIGIN)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.fixture
def canbo1(app):
    return create_user(app.extensions["motcua"].storage, "canbo1", PASSWORD, "clerk", "Nguyễn Văn An")


def test_a_browser_login_mints_no_bearer_token(app, canbo1):
    body = _browser_login(_browser(app))
    assert body["token"] is None and body["user"]["username"] == "canbo1" and body["csrf_token"]
    api_client = app.test_client().post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD})
    assert api_client.get_json()["token"]  # API clients (no Origin) still get one


def test_a_cookie_replayed_after_logout_is_refused(app, canbo1):
    browser = _browser(app)
    login = _browser_login(browser)
    cookie = browser.get_cookie("motcua_session").value
    assert browser.post("/api/auth/logout", headers={"X-CSRFToken": login["csrf_token"]}).status_code == 200
    thief = _browser(app, "192.168.1.66")
    thief.set_cookie("motcua_session", cookie)
    r = thief.get("/api/auth/me")
    assert r.status_code == 401


def test_logout_ends_every_token_of_the_user(app, canbo1):
    token = app.test_client().post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}
                                   ).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    browser = _browser(app)
    login = _browser_login(browser)
    assert app.test_client().get("/api/auth/me", headers=bearer).status_code == 200
    browser.post("/api/auth/logout", headers={"X-CSRFToken": login["csrf_token"]})
    assert app.test_client().get("/api/auth/me", headers=bearer).status_code == 401


def test_a_password_reset_ends_the_old_sessions(app, client, admin, canbo1):
    browser = _browser(app)
    login = _browser_login(browser)
    csrf = {"X-CSRFToken": login["csrf_token"]}
    assert browser.post("/api/counters/1/pause", headers=csrf).status_code == 200
    r = client.post(f"/api/admin/users/{canbo1.id}/password", json={"password": "mat-khau-moi-12345"}, headers=admin)
    assert r.status_code in (200, 204)
    r = browser.post("/api/counters/1/resume", headers=csrf)
    assert r.status_code == 401
    assert _browser_login(browser, password="mat-khau-moi-12345")["user"]["username"] == "canbo1"


def test_disabling_a_user_ends_their_browser_session(app, client, admin, canbo1):
    browser = _browser(app)
    _browser_login(browser)
    client.post(f"/api/admin/users/{canbo1.id}/disable", headers=admin)
    assert browser.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize("password,username", [
    ("aaaaaaaaaa", "lan"),
    ("1111111111", "lan"),
    ("1234567890", "lan"),
    ("qwertyuiop", "lan"),
    ("Matkhau@123", "lan"),
    ("P@ssw0rd2026!", "lan"),
    ("nguyenlan-2026", "nguyenlan"),
])
def test_obvious_passwords_are_refused(password, username):
    with pytest.raises(AuthError):
        check_password_strength(password, username)


def test_a_long_personal_passphrase_is_accepted():
    check_password_strength("Quầy-số-ba-mở-lúc-7h", "lan", "Nguyễn Thị Lan")


def test_weak_passwords_are_refused_by_the_api(client, admin):
    for password in ("aaaaaaaaaa", "1111111111", "canbo9-abcdef"):
        r = client.post("/api/admin/users", json={"username": "canbo9", "password": password}, headers=admin)
        assert r.status_code == 422 and error_code(r) == "weak_password", password


def test_guessing_from_many_addresses_does_not_lock_the_clerk_out_of_their_own_pc(app, canbo1):
    counter_pc = _browser(app, "192.168.1.31")
    login = _browser_login(counter_pc)
    counter_pc.post("/api/auth/logout", headers={"X-CSRFToken": login["csrf_token"]})
    # A guesser spread over many addresses: 5 wrong passwords from each of 4 addresses.
    for n in range(4):
        guesser = _browser(app, f"10.0.0.{n + 2}")
        for _ in range(5):
            assert guesser.post("/api/auth/login", json={"username": "canbo1", "password": "doan-thu-xem"},
                                headers=ORIGIN).status_code == 401
    # The per-user limit (20 an hour) now holds the account against new addresses…
    stranger = _browser(app, "10.0.0.99")
    r = stranger.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}, headers=ORIGIN)
    assert r.status_code == 429 and error_code(r) == "rate_limited"
    # …but the clerk's own browser, where canbo1 logged in before, still gets in.
    r = counter_pc.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}, headers=ORIGIN)
    assert r.status_code == 200


def test_a_forged_known_browser_cookie_does_not_lift_the_limit(app, canbo1):
    for n in range(4):
        guesser = _browser(app, f"10.0.1.{n + 2}")
        for _ in range(5):
            guesser.post("/api/auth/login", json={"username": "canbo1", "password": "doan-thu-xem"}, headers=ORIGIN)
    forger = _browser(app, "10.0.1.99")
    forger.set_cookie("motcua_known", '["canbo1"]')
    r = forger.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}, headers=ORIGIN)
    assert r.status_code == 429
