"""API errors, built in one place: `{"error": {"code": ..., "message": ...}}` with the right status."""
from __future__ import annotations

from flask import Flask, jsonify, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .engine import QueueError

STATUS_OF_KIND = {"not_found": 404, "conflict": 409, "invalid": 422}

GENERIC = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("not_authenticated", "Vui lòng đăng nhập."),
    403: ("forbidden", "Bạn không có quyền thực hiện thao tác này."),
    404: ("not_found", "Không tìm thấy."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ."),
    409: ("conflict", "Yêu cầu xung đột với trạng thái hiện tại."),
    413: ("payload_too_large", "Dữ liệu gửi lên quá lớn (tối đa 64 KB)."),
    415: ("unsupported_media_type", "Dữ liệu phải ở dạng JSON."),
    422: ("invalid", "Dữ liệu không hợp lệ."),
    429: ("rate_limited", "Thao tác quá nhanh. Xin vui lòng thử lại sau ít phút."),
    500: ("internal_error", "Máy chủ gặp sự cố. Vui lòng thử lại."),
}


# SQLite's primary result codes that mean "the database cannot be written now", not a bug:
# BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
SQLITE_UNAVAILABLE = {5, 6, 7, 8, 10, 13, 14, 15}
DATABASE_RETRY_AFTER_S = 2
DATABASE_UNAVAILABLE = ("database_unavailable",
                        "Hệ thống tạm thời không lưu được dữ liệu. Xin vui lòng thử lại sau giây lát.")


def database_unavailable(err: BaseException) -> bool:
    """A database that is away, cut off, locked, read-only or full: worth a retry (503), not a
    500. A mistake in a statement (no such table, a constraint) stays a 500."""
    if isinstance(err, (DisconnectionError, PoolTimeout)):
        return True
    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    code = getattr(err.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_UNAVAILABLE
    return isinstance(err, (OperationalError, InterfaceError))  # PostgreSQL: connection, shutdown, timeouts


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def api_error(status: int, code: str | None = None, message: str | None = None, **extra) -> ApiError:
    default_code, default_message = GENERIC.get(status, ("error", "Có lỗi xảy ra."))
    return ApiError(status, code or default_code, message or default_message, **extra)


def error_response(status: int, code: str, message: str, **extra):
    body = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), status


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        if not _wants_json():  # a page (an unknown office's kiosk, say): a page that says why
            from markupsafe import escape

            return (f'<!doctype html><html lang="vi"><meta charset="utf-8"><title>{escape(err.message)}</title>'
                    f"<h1>{escape(err.message)}</h1></html>", err.status, {"Content-Type": "text/html; charset=utf-8"})
        return error_response(err.status, err.code, err.message, **err.extra)

    @app.errorhandler(QueueError)
    def _queue_error(err: QueueError):
        return error_response(STATUS_OF_KIND[err.kind], err.code, err.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(err: CSRFError):
        return error_response(400, "csrf_failed", "Phiên làm việc đã hết hạn hoặc thiếu mã CSRF. Vui lòng tải lại trang.")

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if not _wants_json():
            return err
        code, message = GENERIC.get(err.code, ("error", err.description or "Có lỗi xảy ra."))
        response, status = error_response(err.code, code, message)
        if err.code == 429 and getattr(err, "retry_after", None):
            response.headers["Retry-After"] = str(err.retry_after)
        return response, status

    @app.errorhandler(SQLAlchemyError)
    def _database_error(err: SQLAlchemyError):
        if not database_unavailable(err):
            return _unexpected(err)
        app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                           str(err).splitlines()[0] if str(err) else type(err).__name__)
        health = app.extensions.get("motcua_health")
        if health is not None:
            health.invalidate()  # the next /api/health probes instead of answering what it knew
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
        if _wants_json():
            response, status = error_response(503, *DATABASE_UNAVAILABLE)
            return response, status, headers
        return DATABASE_UNAVAILABLE[1], 503, headers

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        code, message = GENERIC[500]
        if _wants_json():
            return error_response(500, code, message)
        return message, 500


def json_body() -> dict:
    """The request's JSON object, or a 400/415 the client can understand."""
    if not request.is_json:
        raise api_error(415, message="Dữ liệu phải ở dạng JSON (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise api_error(400, "invalid_json", "Nội dung JSON không hợp lệ: cần một đối tượng {…}.")
    return body
