"""The admin console at /admin: the office, fields, counters, users, devices, announcements and reports.

One template with a section per concern; the JS modules talk only to the
admin JSON API (/api/admin/..., /api/reports/..., /api/print-jobs). Texts the
JS shows come from `texts()`, translated by Flask-Babel.
"""
from flask import Blueprint, current_app, render_template
from flask_babel import get_locale, gettext as _

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")


def texts() -> dict:
    """Everything the admin's JS says, in the page's language."""
    return {
        "save": _("Lưu"), "saved": _("Đã lưu."), "add": _("Thêm"), "edit": _("Sửa"), "cancel": _("Huỷ"),
        "disable": _("Tạm ngừng"), "enable": _("Mở lại"), "delete": _("Xoá"), "up": _("Lên"), "down": _("Xuống"),
        "active": _("Đang dùng"), "inactive": _("Đã ngừng"), "yes": _("Có"), "no": _("Không"),
        "not_admin": _("Tài khoản này không có quyền quản trị."),
        "confirm_delete_field": _("Xoá hẳn lĩnh vực {name}? (Chỉ xoá được khi chưa có phiếu nào.)"),
        "confirm_revoke": _("Thu hồi thiết bị {name}? Thiết bị sẽ phải ghép nối lại."),
        "code": _("Mã"), "prefix": _("Tiền tố"), "name": _("Tên"), "hint": _("Mô tả"),
        "hours": _("Giờ cấp số"), "hours_hint": _("Ví dụ: 7h30-11h30, 13h30-16h30 (để trống: cả ngày)"),
        "daily_cap": _("Tối đa mỗi ngày"), "minutes": _("Phút mỗi lượt"), "icon": _("Biểu tượng"),
        "status": _("Trạng thái"), "actions": _("Thao tác"), "all_day": _("Cả ngày"),
        "number": _("Số quầy"), "fields": _("Lĩnh vực phục vụ (theo thứ tự ưu tiên)"), "state": _("Tình trạng"),
        "serving": _("Đang phục vụ"), "waiting": _("Đang chờ"),
        "username": _("Tên đăng nhập"), "full_name": _("Họ tên"), "role": _("Vai trò"),
        "role_clerk": _("Cán bộ"), "role_admin": _("Quản trị"), "role_province": _("Cấp tỉnh"), "password": _("Mật khẩu (ít nhất 10 ký tự)"),
        "reset_password": _("Đặt lại mật khẩu"), "new_password": _("Mật khẩu mới cho {name}"),
        "password_changed": _("Đã đổi mật khẩu của {name}."),
        "kind": _("Loại"), "kind_kiosk": _("Máy lấy số"), "kind_display": _("Màn hình gọi số"),
        "kind_tablet": _("Máy đánh giá"), "counter": _("Quầy"), "paired": _("Đã ghép nối"),
        "last_seen": _("Lần cuối hoạt động"), "pair": _("Tạo mã ghép nối"), "revoke": _("Thu hồi"),
        "device_status": {"waiting": _("Chờ ghép nối"), "paired": _("Đã ghép nối"), "expired": _("Mã hết hạn"),
                          "revoked": _("Đã thu hồi")},
        "pairing_code": _("Mã ghép nối"), "pairing_url": _("Mở địa chỉ này trên thiết bị, hoặc quét mã QR:"),
        "pairing_once": _("Mã dùng một lần, hết hạn sau 24 giờ; chỉ hiện lúc này."),
        "text": _("Nội dung"), "announcement_hint": _("Chữ chạy trên màn hình gọi số"),
        "state_open": _("Đang mở"), "state_paused": _("Đang tạm dừng"), "state_closed": _("Đóng"),
        "print_failures": _("Phiếu in lỗi hôm nay"), "no_print_failures": _("Hôm nay không có phiếu in lỗi."),
        "reprint": _("In lại"), "reprinted": _("Đã gửi lệnh in lại số {code}."), "printing_off": _("Máy chủ không bật in phiếu."),
        "ticket": _("Số"), "error": _("Lỗi"), "attempts": _("Số lần thử"),
        "issued": _("Phiếu đã cấp"), "served": _("Đã phục vụ"), "no_show": _("Vắng mặt"),
        "wait_mean": _("Chờ trung bình"), "wait_p90": _("Chờ p90"), "service_mean": _("Phục vụ trung bình"),
        "ratings": _("Lượt đánh giá"), "satisfied": _("Hài lòng"),
        "chart_hours": _("Số phiếu theo giờ"), "chart_wait": _("Thời gian chờ theo lĩnh vực (phút, trung bình)"),
        "chart_no_show": _("Vắng mặt theo lĩnh vực"), "chart_counter": _("Mức hài lòng theo quầy"),
        "chart_clerk": _("Mức hài lòng theo cán bộ"), "no_data": _("Chưa có dữ liệu trong khoảng thời gian này."),
        "by_field": _("Theo lĩnh vực"), "by_counter": _("Theo quầy"), "by_clerk": _("Theo cán bộ"),
        "minutes_short": _("phút"), "hour_short": _("giờ"), "ratings_count": _("{count} lượt"),
        "rating_scale": _("Thang đánh giá"), "scale_3": _("3 mức"), "scale_5": _("5 mức"),
        "rating_reasons": _("Lý do không hài lòng (mỗi dòng một lý do)"),
        "office_name": _("Tên cơ quan"), "office_unit": _("Tên bộ phận"),
        # dialogs say what they add or edit
        "add_field": _("Thêm lĩnh vực"), "edit_field": _("Sửa lĩnh vực {name}"),
        "add_counter": _("Thêm quầy"), "edit_counter": _("Sửa quầy {number}"),
        "add_user": _("Thêm người dùng"), "edit_office": _("Sửa thông tin cơ quan"),
        "add_announcement": _("Thêm thông báo"), "edit_announcement": _("Sửa thông báo"),
        "pair_title": _("Ghép nối thiết bị mới"), "hours_placeholder": _("7h30-11h30, 13h30-16h30"),
        # reports
        "report_day": _("Báo cáo ngày {day}"), "report_period": _("Báo cáo từ ngày {start} đến ngày {end}"),
        "date_invalid": _("Ngày phải viết theo dạng ngày/tháng/năm, ví dụ 25/11/2026."),
        "date_order": _("Ngày bắt đầu phải trước hoặc trùng ngày kết thúc."),
        "total": _("Tổng cộng"), "whole_office": _("Toàn cơ quan"), "day": _("Ngày"), "by_day": _("Theo ngày"),
        "sources": _("Nguồn đánh giá"), "source_tablet": _("Máy tính bảng tại quầy"),
        "source_phone": _("Điện thoại"), "source_unknown": _("Chưa rõ nguồn"),
        "reasons_title": _("Lý do không hài lòng"),
        "reasons_hint": _("Số lượt công dân chọn mỗi lý do; một lượt đánh giá có thể chọn nhiều lý do."),
        "no_reasons": _("Không có lý do không hài lòng nào trong khoảng thời gian này."),
        "comments_title": _("Góp ý của công dân"), "no_comments": _("Không có góp ý nào trong khoảng thời gian này."),
        "time": _("Thời gian"), "clerk": _("Cán bộ"), "field": _("Lĩnh vực"), "level": _("Mức đánh giá"),
        "reasons": _("Lý do"), "comment": _("Góp ý"), "source": _("Nguồn"),
        # the province: every office, and reports of them all
        "slug": _("Mã cơ quan"),
        "slug_hint": _("Chữ thường không dấu, số và dấu gạch ngang, ví dụ phuong-ba-dinh. Là một phần địa chỉ "
                       "các trang của cơ quan (/o/mã-cơ-quan/…), không đổi được sau khi thêm."),
        "add_office": _("Thêm cơ quan"), "edit_office_listing": _("Sửa cơ quan {name}"),
        "office_added": _("Đã thêm cơ quan {name}. Mở trang quản trị của cơ quan để thêm lĩnh vực, quầy và người dùng."),
        "confirm_deactivate_office": _("Ngừng cơ quan {name}? Mọi trang và thiết bị của cơ quan này sẽ không mở được "
                                       "nữa. Không dữ liệu nào bị xoá; có thể mở lại bất cứ lúc nào."),
        "open_office_admin": _("Quản trị cơ quan"), "this_office": _("Đang xem"),
        "scope_this": _("Cơ quan này ({name})"), "by_office": _("Theo cơ quan"), "whole_province": _("Toàn tỉnh"),
        "report_all": _("Tất cả cơ quan"),
        # tickets taken outside the kiosks (only paired kiosks should issue)
        "outside_title": _("Phiếu lấy ngoài máy lấy số"),
        "outside_hint": _("Phiếu cấp hôm nay không qua máy lấy số đã ghép nối (ví dụ từ một máy tính trong mạng), "
                          "kèm địa chỉ máy đã lấy. Phiếu lạ đang chờ có thể huỷ để không ai bị gọi nhầm."),
        "no_outside": _("Hôm nay chưa có phiếu nào lấy ngoài máy lấy số."),
        "outside_none_waiting": _("Không phiếu nào trong số này đang chờ."),
        "outside_settled": _("Đã gọi, đã phục vụ hoặc đã huỷ ({count})"),
        "issued_time": _("Lấy lúc"), "issued_from": _("Địa chỉ máy"), "priority": _("Ưu tiên"),
        "cancel_ticket": _("Huỷ phiếu"),
        "confirm_cancel_ticket": _("Huỷ phiếu {code}? Phiếu bị huỷ sẽ không được gọi nữa."),
        "ticket_cancelled": _("Đã huỷ phiếu {code}."),
        "ticket_status": {"waiting": _("Đang chờ"), "called": _("Đang được gọi"), "done": _("Đã phục vụ"),
                          "no_show": _("Vắng mặt"), "cancelled": _("Đã huỷ"), "expired": _("Hết hạn")},
        # online bookings: a field's settings, the day's list, cancelling for a citizen, days without bookings
        "booking_title": _("Đặt lịch trực tuyến"),
        "booking_hint": _("Công dân đặt trước một khung giờ (trên điện thoại hoặc máy tính), đến nơi thì xác nhận "
                          "tại máy lấy số hoặc tại quầy. Khung giờ chia theo giờ cấp số của lĩnh vực (để trống giờ "
                          "cấp số: 07:00–17:00)."),
        "booking_on": _("Nhận đặt lịch trực tuyến cho lĩnh vực này"),
        "slot_minutes": _("Độ dài mỗi khung giờ (phút)"), "seats": _("Số người mỗi khung giờ"),
        "days_ahead": _("Cho đặt trước tối đa (ngày)"), "days_ahead_hint": _("0: chỉ đặt trong ngày; tối đa 30 ngày."),
        "booking_column": _("Đặt lịch"), "booking_summary": _("{minutes} phút · {seats} người"),
        "booking_days": _("đặt trước {days} ngày"),
        "booking_rules": _("khung {minutes} phút, {seats} người mỗi khung, đặt trước tối đa {days} ngày"),
        "default_booking_hours": _("07:00–17:00"),
        "bookable_fields": _("Lĩnh vực nhận đặt lịch"),
        "bookable_hint": _("Đổi cách nhận đặt lịch của một lĩnh vực bằng nút Sửa trong mục Lĩnh vực."),
        "no_bookable_fields": _("Chưa lĩnh vực nào nhận đặt lịch. Bật trong hộp Sửa của lĩnh vực, mục Lĩnh vực."),
        "open_fields": _("Mở mục Lĩnh vực"),
        "bookings_title": _("Lịch hẹn ngày {day}, {weekday}"), "today": _("Hôm nay"), "tomorrow": _("Ngày mai"),
        "weekdays": [_("Chủ nhật"), _("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy")],
        "bookings_count": _("{count} lịch hẹn"), "no_bookings": _("Không có lịch hẹn nào trong ngày này."),
        "slot": _("Giờ hẹn"), "booking_code": _("Mã đặt lịch"), "phone": _("Số điện thoại"),
        "ticket_issued": _("Số đã cấp"),
        "booking_status": {"booked": _("Đã đặt"), "checked_in": _("Đã đến"), "missed": _("Không đến"),
                           "cancelled": _("Đã huỷ")},
        "cancel_reason_short": _("Lý do huỷ"), "cancelled_by_citizen": _("Công dân tự huỷ"), "no_name": _("(không ghi tên)"),
        "cancel_booking": _("Huỷ lịch"), "cancel_booking_title": _("Huỷ lịch hẹn {code}"),
        "cancel_booking_intro": _("Lịch hẹn {time} ngày {day}, lĩnh vực {field}, của {name} (số điện thoại {phone}). "
                                  "Sau khi huỷ, mã này không xác nhận được nữa và chỗ được trả lại cho người khác đặt."),
        "cancel_reason": _("Lý do huỷ"),
        "cancel_reason_hint": _("Bắt buộc, tối đa 300 ký tự. Lý do được lưu cùng lịch hẹn; hãy gọi báo cho công dân."),
        "cancel_booking_confirm": _("Huỷ lịch hẹn này"),
        "booking_cancelled": _("Đã huỷ lịch hẹn {code}. Hãy gọi báo cho công dân: {phone}."),
        "day_closed": _("Ngày này cơ quan không nhận đặt lịch ({note})."), "no_note": _("không ghi chú"),
        "blackout_title": _("Ngày không nhận đặt lịch"),
        "blackout_hint": _("Ngày lễ, Tết, ngày nghỉ bù…: công dân không đặt được lịch vào những ngày này. Lịch đã "
                           "đặt trước đó vẫn giữ nguyên; nếu cần, huỷ từng lịch và gọi báo cho công dân."),
        "add_blackout": _("Thêm ngày nghỉ"), "blackout_day": _("Ngày nghỉ"), "note": _("Ghi chú"),
        "note_placeholder": _("Ví dụ: Nghỉ Tết Dương lịch"),
        "date_hint": _("Ngày viết theo dạng ngày/tháng/năm, ví dụ 25/11/2026."),
        "no_blackout": _("Chưa có ngày nào."),
        "blackout_added": _("Đã thêm ngày nghỉ {day}."),
        "blackout_has_bookings": _("Ngày {day} đã có {count} lịch hẹn đặt trước: xem danh sách ngày đó, huỷ và gọi báo "
                                   "cho từng công dân nếu cần."),
        "confirm_remove_blackout": _("Bỏ ngày nghỉ {day}? Công dân sẽ đặt lịch được vào ngày này."),
        # reports: bookings
        "bookings_report": _("Đặt lịch"), "bookings_made": _("Lượt đặt"), "bookings_checked_in": _("Đã đến"),
        "bookings_missed": _("Không đến"), "bookings_cancelled": _("Đã huỷ"), "bookings_ahead": _("Chưa đến hẹn"),
        "wait_from_slot_mean": _("Chờ từ giờ hẹn (trung bình)"), "wait_from_slot_median": _("Trung vị"),
        "wait_from_slot_p90": _("p90"),
        "bookings_report_hint": _("Lịch hẹn của các ngày trong khoảng thời gian này. Thời gian chờ của người đặt "
                                  "lịch tính từ đầu khung giờ hẹn đến lúc được gọi (được gọi trước giờ hẹn: 0 phút)."),
        "no_bookings_report": _("Không có lịch hẹn nào trong khoảng thời gian này."),
    }


@bp.get("/")
def console():
    # the office's time zone, so "today" in the date range is the office's day, not the PC's
    timezone = str(current_app.extensions["motcua"].config.tz)
    return render_template("admin/admin.html", texts=texts(), lang=str(get_locale()), timezone=timezone)
