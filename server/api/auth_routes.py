"""Log in and out: a session cookie for browsers, a bearer token for API clients.

A browser login (the staff pages, or any request a browser makes: it carries `Origin`)
gets only the session cookie: no long-lived token lies around after the clerk logs out.
Logging out ends every session and token of that user, as a new password or disabling
the user does.

Failed logins are limited per address and per user name. The per-user limit stops a
guesser spread over many addresses; a browser in which this user has logged in before
(a signed "known browser" cookie, OWASP's device cookie) is not held by it, so a guesser
cannot lock the clerk out of their own counter PC.
"""
from __future__ import annotations

from flask import current_app, jsonify, request, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeSerializer

from ..auth import authenticate, current_user, end_access, issue_token, login_session, user_json
from ..extensions import limiter
from . import bp
from .errors import api_error, json_body
from .util import services

KNOWN_COOKIE = "motcua_known"
KNOWN_DAYS = 365
KNOWN_MAX = 8  # user names remembered per browser


def _login_limit() -> str:
    return services().config.login_rate_limit


def _username() -> str:
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    return str(name or "").strip().lower()[:64]


def _username_key() -> str:
    return f"login-user:{_username()}"


def _failed(response) -> bool:
    return response.status_code == 401


def _known_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="motcua-known-browser")


def _known_names() -> list[str]:
    try:
        names = _known_serializer().loads(request.cookies.get(KNOWN_COOKIE, ""))
    except BadSignature:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _known_browser() -> bool:
    return _username() in _known_names()


def _from_browser(body: dict) -> bool:
    return body.get("session") is True or bool(request.headers.get("Origin"))


@bp.post("/auth/login")
@limiter.limit(_login_limit, deduct_when=_failed)
@limiter.limit("20/hour", key_func=_username_key, deduct_when=_failed, exempt_when=_known_browser)
def login():
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise api_error(422, "invalid_credentials_format", "Cần nhập tên đăng nhập và mật khẩu.")
    if len(username) > 64 or len(password) > 256:
        raise api_error(401, "bad_credentials", "Tên đăng nhập hoặc mật khẩu không đúng.")
    user = authenticate(services().storage, username, password)
    if user is None:
        raise api_error(401, "bad_credentials", "Tên đăng nhập hoặc mật khẩu không đúng.")
    login_session(user)
    token = None if _from_browser(body) else issue_token(services().storage, user)
    response = jsonify(token=token, user=user_json(user), office=_office_of(user), csrf_token=generate_csrf())
    names = [user.username] + [n for n in _known_names() if n != user.username]
    response.set_cookie(KNOWN_COOKIE, _known_serializer().dumps(names[:KNOWN_MAX]), max_age=KNOWN_DAYS * 86400,
                        httponly=True, samesite="Lax", secure=request.is_secure)
    return response


@bp.post("/auth/logout")
def logout():
    user = current_user()
    if user is not None:
        end_access(services().storage, user.id)
    session.clear()
    return jsonify(status="ok")


@bp.get("/auth/me")
def me():
    user = current_user()
    if user is None:
        raise api_error(401)
    return jsonify(user=user_json(user), office=_office_of(user), csrf_token=generate_csrf())


def _office_of(user) -> dict | None:
    """The office a clerk or admin belongs to (their pages live under /o/<slug>); None for the province."""
    office = services().engine.offices.get(user.office_id) if user.office_id is not None else None
    return {"slug": office.slug, "name": office.name} if office else None
