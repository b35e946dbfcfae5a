"""Log in and out: a session cookie for browsers, a bearer token for API clients."""
from __future__ import annotations

from flask import jsonify, request, session
from flask_wtf.csrf import generate_csrf

from ..auth import authenticate, current_user, issue_token, login_session, revoke_token, user_json
from ..extensions import limiter
from . import bp
from .errors import api_error, json_body
from .util import services


def _login_limit() -> str:
    return services().config.login_rate_limit


def _username_key() -> str:
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    return f"login-user:{str(name).strip().lower()[:64]}"


def _failed(response) -> bool:
    return response.status_code == 401


@bp.post("/auth/login")
@limiter.limit(_login_limit, deduct_when=_failed)
@limiter.limit("20/hour", key_func=_username_key, deduct_when=_failed)
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
    token = issue_token(services().storage, user)
    return jsonify(token=token, user=user_json(user), csrf_token=generate_csrf())


@bp.post("/auth/logout")
def logout():
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        revoke_token(services().storage, header[7:].strip())
    session.clear()
    return jsonify(status="ok")


@bp.get("/auth/me")
def me():
    user = current_user()
    if user is None:
        raise api_error(401)
    return jsonify(user=user_json(user), csrf_token=generate_csrf())
