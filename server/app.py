"""The application factory: load config, bind extensions, register blueprints. Nothing else."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface

from .config import Config
from .engine import BookingSettings, QueueEngine
from .extensions import babel, csrf, limiter, socketio
from .storage import Storage

LANGUAGES = ("vi", "en")

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self' ws: wss:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class JSONProvider(DefaultJSONProvider):
    """Deeply nested JSON is a client's mistake (400), not a RecursionError and a 500."""

    ensure_ascii = False
    sort_keys = False

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is `Secure` whenever the request came over HTTPS (also through a proxy)."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure


class App(Flask):
    json_provider_class = JSONProvider
    session_interface = SessionInterface()


@dataclass
class Services:
    """What the views and socket handlers need, built once per app."""

    config: Config
    storage: Storage
    engine: QueueEngine
    admin: Any = None  # server.administration.AdminService
    printing: Any = None
    app_logger: logging.Logger | None = None


def build_app(config: Config | None = None, *, engine_clock=None) -> Flask:
    config = config or Config.from_env()
    app = App(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="motcua_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.session_hours),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by require_role for cookie sessions, and by forms
        WTF_CSRF_TIME_LIMIT=config.session_hours * 3600,
        RATELIMIT_STORAGE_URI=config.message_queue_url or "memory://",
        # Redis away: count in this process's memory meanwhile, never answer a 500.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1},
        RATELIMIT_HEADERS_ENABLED=True,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE=config.timezone,
        TESTING=config.testing,
        JSON_SORT_KEYS=False,
    )

    storage = Storage(config.database_url, synchronous=config.sqlite_synchronous)
    engine = QueueEngine(storage, config.tz, clock=engine_clock, default_office=config.default_office,
                         booking=BookingSettings(checkin_before=dt.timedelta(minutes=config.booking_checkin_before),
                                                 checkin_after=dt.timedelta(minutes=config.booking_checkin_after),
                                                 per_phone_per_day=config.booking_per_phone))
    from .administration import AdminService

    services = Services(config=config, storage=storage, engine=engine, admin=AdminService(storage, engine),
                        app_logger=app.logger)
    app.extensions["motcua"] = services

    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_locale)
    queue = {"message_queue": None}
    socketio.server_options.pop("client_manager", None)  # one app per process, but tests build many
    if config.message_queue_url:
        from .message_queue import ProcessLink

        # Redis joins the processes; the link also carries control messages between them.
        queue = {"message_queue": config.message_queue_url, "client_manager": ProcessLink(config.message_queue_url)}
    socketio.init_app(app, async_mode=config.async_mode, cors_allowed_origins=config.extra.get("cors_allowed_origins"),
                      **queue)
    app.wsgi_app = PlainWebSockets(app.wsgi_app)

    from .api import bp as api_bp
    from .errors import register_error_handlers

    register_error_handlers(app)
    app.register_blueprint(api_bp)

    from . import events, pages

    app.register_blueprint(pages.bp)
    for surface in _surfaces():
        app.register_blueprint(surface)
    events.register(socketio, engine, storage, shared_rooms=bool(config.message_queue_url))
    # Every Socket.IO event runs in a request context for its connection's /socket.io/ URL. With
    # no rule for it, Flask keeps a NotFound with its traceback there: a reference cycle per
    # connect, follow and disconnect, left for the garbage collector (thousands of phones). The
    # middleware answers /socket.io/ itself, so this view is never served. Two rules: Werkzeug
    # matches a websocket's URL only to a websocket rule (else a WebsocketMismatch is kept).
    for websocket in (False, True):
        app.add_url_rule("/socket.io/", "socketio_transport", _not_here, strict_slashes=False,
                         websocket=websocket, methods=["GET"] if websocket else ["GET", "POST"])
    _attach_printing(app, services)

    from . import tenancy

    app.wsgi_app = tenancy.OfficePath(app.wsgi_app)  # /o/<slug>/… serves the same routes for that office
    app.before_request(tenancy.check_office_exists)
    app.context_processor(tenancy.template_context)
    if config.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops,
                                x_host=config.proxy_hops)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"languages": LANGUAGES})
    return app


def _surfaces():
    from admin import bp as admin_bp
    from booking import bp as booking_bp
    from counter import bp as counter_bp
    from display import bp as display_bp
    from kiosk import bp as kiosk_bp
    from province import bp as province_bp
    from rating import bp as rating_bp

    return [kiosk_bp, display_bp, counter_bp, rating_bp, admin_bp, province_bp, booking_bp]


def _attach_printing(app: Flask, services: Services) -> None:
    if services.config.printer == "none":  # no printer at all: the kiosk shows the QR on screen
        return
    try:
        from .printing import PrintService
    except ImportError:  # the printer package is optional in a minimal install
        return
    services.printing = PrintService(services.storage, services.config, socketio=socketio, engine=services.engine)
    try:
        from .api.printing import bp as printing_bp

        app.register_blueprint(printing_bp)
    except ImportError:
        pass
    try:
        from .printing import register_printer_namespace

        register_printer_namespace(socketio, services.printing)
    except ImportError:
        pass


class PlainWebSockets:
    """Websockets without compression. Every browser offers permessage-deflate, and eventlet and
    simple-websocket accept it: each board and phone then keeps a zlib compressor of its own (~250 KB
    once used) and every call is compressed once per board. Measured with 200 boards that offer it:
    the server at 149 MB instead of 100 MB, the last board 10 ms later. Our messages are a few hundred
    bytes on a LAN, so the offer is declined (RFC 7692 lets a server): it never reaches the handshake."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)


def _not_here():
    abort(404)


def _locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    return lang if lang in LANGUAGES else "vi"


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
