"""The API's error helpers (they live in server/errors.py so auth can use them without a cycle)."""
from ..errors import ApiError, api_error, error_response, json_body, register_error_handlers  # noqa: F401
