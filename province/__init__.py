"""The province's wall at /province: every office's hall at a glance, on a TV, live.

One template and one JS module. The page logs a province user in, then shows
`GET /api/province/overview` and follows `province_updated` on the socket (joined
with `?province=1`), so the wall changes without reloading. Texts the JS shows come
from `texts()`, translated by Flask-Babel (Vietnamese first).
"""
from flask import Blueprint, render_template
from flask_babel import get_locale, gettext as _

bp = Blueprint("province", __name__, url_prefix="/province", template_folder="templates",
               static_folder="static", static_url_path="/static")


def texts() -> dict:
    """Everything the wall's JS says, in the page's language."""
    return {
        "not_province": _("Trang này dành cho tài khoản cấp tỉnh. Tài khoản của cán bộ hoặc quản trị một cơ quan "
                          "dùng trang quầy hoặc trang quản trị của cơ quan mình."),
        "session_over": _("Phiên đăng nhập đã hết. Vui lòng đăng nhập lại."),
        "updated_at": _("Cập nhật lúc {time}"),
        "offices_count": _("{count} cơ quan"),
        "totals": _("Toàn tỉnh"),
        "waiting": _("Đang chờ"),
        "served": _("Đã phục vụ"),
        "no_offices": _("Chưa có cơ quan nào đang hoạt động."),
        "open_board": _("Mở màn hình gọi số của {name}"),
        "report": _("Báo cáo"),
        "open_report": _("Mở báo cáo của {name}"),
        "no_counter_open": _("Có người chờ nhưng chưa quầy nào mở"),
        "waited_long": _("Có người đã chờ {minutes} phút"),
        "legend_warn": _("Có người chờ từ {minutes} phút"),
        "legend_alert": _("Chờ từ {minutes} phút, hoặc có người chờ mà chưa quầy nào mở"),
    }


@bp.get("/")
def wall():
    return render_template("province/wall.html", texts=texts(), lang=str(get_locale()))
