"""The clerk's console at /counter: log in, pick a counter, call and serve tickets.

The page is one template and one JS module; it talks only to the JSON API
(/api/auth, /api/counters) and follows Socket.IO events to keep the waiting
list live. Texts the JS shows come from `texts()`, translated by Flask-Babel.
"""
from flask import Blueprint, render_template
from flask_babel import get_locale, gettext as _

bp = Blueprint("counter", __name__, url_prefix="/counter", template_folder="templates",
               static_folder="static", static_url_path="/static")


def texts() -> dict:
    """Everything the console's JS says, in the page's language."""
    return {
        "login_failed": _("Tên đăng nhập hoặc mật khẩu không đúng."),
        "pick_counter": _("Chọn quầy làm việc"),
        "counter": _("Quầy"),
        "no_ticket": _("Chưa gọi số nào"),
        "no_ticket_hint": _("Bấm “Gọi số tiếp theo” (phím cách hoặc N) để mời người tiếp theo."),
        "paused_hint": _("Quầy đang tạm dừng. Bấm “Tiếp tục” (phím P) để gọi số."),
        "no_no_shows": _("Chưa có ai vắng mặt."),
        "called_since": _("Đã gọi"),
        "call_count": _("Lần gọi"),
        "priority": _("Ưu tiên"),
        "waiting": _("Đang chờ"),
        "nobody_waiting": _("Không có ai đang chờ."),
        "served_today": _("Đã phục vụ hôm nay"),
        "no_shows_today": _("Vắng mặt hôm nay"),
        "call_this": _("Gọi số này"),
        "issued_at": _("Lấy số lúc"),
        "pause": _("Tạm dừng"),
        "resume": _("Tiếp tục"),
        "paused_banner": _("Quầy đang tạm dừng: bấm Tiếp tục (phím P) để gọi số."),
        "state_open": _("Đang mở"),
        "state_paused": _("Đang tạm dừng"),
        "state_closed": _("Đóng"),
        "serving": _("Đang phục vụ"),
        "done_called": _("Đã gọi số {code}."),
        "done_recalled": _("Đã gọi lại số {code}."),
        "done_no_show": _("Số {code} vắng mặt."),
        "done_finished": _("Đã hoàn thành số {code}."),
        "done_transferred": _("Đã chuyển số {code} sang lĩnh vực {field}."),
        "done_paused": _("Quầy đã tạm dừng."),
        "done_resumed": _("Quầy đã mở lại."),
        "offline": _("Mất kết nối tới máy chủ, đang kết nối lại…"),
        "no_counters": _("Chưa có quầy nào. Hãy nhờ quản trị viên thêm quầy."),
        "serves": _("Phục vụ"),
        # online bookings: the mark on a booked ticket, and checking a citizen in at the counter
        "booked_at": _("Đặt lịch {time}"),
        "checkin_done": _("Đã xác nhận lịch hẹn {booking}: cấp số {code} ({field}, hẹn {time})."),
        "checkin_again": _("Lịch hẹn {booking} đã được xác nhận lúc {issued}: số {code} ({field}, hẹn {time}). "
                           "Không cấp thêm số."),
        "checkin_bad_code": _("Mã đặt lịch gồm 6 ký tự chữ và số (không có chữ O, I và số 0, 1), ví dụ K7M2QX."),
        "checkin_print": {
            "printed": _("Đã in phiếu."),
            "pending": _("Phiếu đang được in; nếu không thấy phiếu, xin báo số cho công dân."),
            "failed": _("Chưa in được phiếu: xin báo số cho công dân."),
            "none": _("Máy chủ không in phiếu: xin báo số cho công dân."),
        },
        "priorities": {
            "elderly": _("Người cao tuổi"),
            "disabled": _("Người khuyết tật"),
            "pregnant": _("Phụ nữ mang thai hoặc có con nhỏ"),
            "merit": _("Người có công với cách mạng"),
        },
        # The API's messages are Vietnamese; in English the console says these instead.
        "errors": {} if str(get_locale()) == "vi" else {
            "queue_empty": _("Không còn ai đang chờ ở các lĩnh vực của quầy này."),
            "no_current_ticket": _("Quầy chưa gọi số nào."),
            "counter_paused": _("Quầy đang tạm dừng. Bấm Tiếp tục để gọi số."),
            "ticket_in_service": _("Quầy đang phục vụ một số. Hãy bấm Hoàn thành hoặc Vắng mặt trước khi tạm dừng."),
            "ticket_not_found": _("Không tìm thấy số này trong ngày hôm nay."),
            "ticket_not_callable": _("Số này không gọi được (đã phục vụ, đang ở quầy khác hoặc đã huỷ)."),
            "bad_credentials": _("Tên đăng nhập hoặc mật khẩu không đúng."),
            "rate_limited": _("Bạn thao tác quá nhanh. Vui lòng thử lại sau ít phút."),
            "network": _("Mất kết nối tới máy chủ. Vui lòng thử lại."),
            "same_field": _("Số này đã thuộc lĩnh vực đó."),
            "not_authenticated": _("Vui lòng đăng nhập."),
            "booking_not_found": _("Không tìm thấy mã đặt lịch này. Xin kiểm tra lại mã."),
            "invalid_code": _("Cần nhập mã đặt lịch gồm 6 ký tự, ví dụ K7M2QX."),
            "booking_cancelled": _("Lịch hẹn này đã huỷ. Xin mời công dân lấy số thường tại máy lấy số."),
            "too_early": _("Chưa đến giờ xác nhận lịch hẹn này. Công dân có thể quay lại gần giờ hẹn hoặc lấy số "
                           "thường ngay."),
            "too_late": _("Lịch hẹn này đã quá giờ xác nhận. Xin mời công dân lấy số thường tại máy lấy số."),
        },
    }


@bp.get("/")
def console():
    return render_template("counter/console.html", texts=texts(), lang=str(get_locale()))
