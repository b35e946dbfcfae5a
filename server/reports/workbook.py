"""The summary as a workbook an official can print and send as it is: a sheet per table."""
from __future__ import annotations

import datetime as dt
import io

from .csv_export import GROUPS, RISKY_START, SOURCE_COLUMNS, SOURCE_NAMES, _office_time, _reason_names

# What a column holds decides how its cells are written and shown: numbers stay numbers (minutes,
# not seconds), shares are percentages, days are dates; text is always text, never a formula.
TEXT, WRAP, COUNT, MINUTES, PERCENT, DATE, DATETIME, SCORE = (
    "text", "wrap", "count", "minutes", "percent", "date", "datetime", "score")
NUMBER_FORMATS = {TEXT: "@", WRAP: "@", COUNT: "#,##0", MINUTES: "#,##0.0", PERCENT: "0.0%",
                  DATE: "dd/mm/yyyy", DATETIME: "dd/mm/yyyy hh:mm", SCORE: "0"}
TOTAL_LABEL = "Tổng cộng"
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def _day(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def _period(report: dict) -> str:
    if report["from"] == report["to"]:
        return f"ngày {_day(report['from'])}"
    return f"từ ngày {_day(report['from'])} đến ngày {_day(report['to'])}"


def _office_name(report: dict) -> str:
    office = report.get("office") or {}
    return ", ".join(p for p in (office.get("unit"), office.get("name")) if p)


class _Sheet:
    """One printable table: a title row (what, which office, which period), a header row with
    units, the rows, column widths, a frozen header and a page setup that fits the width."""

    def __init__(self, book, name: str, heading: str, report: dict, columns: list[tuple[str, str]],
                 freeze_cols: int = 0):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = book.create_sheet(name)
        self.columns = columns
        self.widths = [max(len(w) for w in header.split()) + 2 for header, _ in columns]
        self._thin = Side(style="thin", color="A0A8B8")
        self._border = Border(left=self._thin, right=self._thin, top=self._thin, bottom=self._thin)
        self._bold = Font(bold=True)
        self._fill = PatternFill("solid", fgColor="DDE3EC")
        self._total_fill = PatternFill("solid", fgColor="F1F5F9")
        self._Alignment = Alignment
        self.title = " — ".join(p for p in (heading, _office_name(report), _period(report)) if p)
        title = self.ws.cell(row=1, column=1)
        self._text(title, self.title)
        title.font = Font(bold=True, size=13)
        title.alignment = Alignment(wrap_text=True, vertical="center")
        for i, (header, _) in enumerate(columns, start=1):
            cell = self.ws.cell(row=2, column=i)
            self._text(cell, header)
            cell.font, cell.fill, cell.border = self._bold, self._fill, self._border
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        self.ws.freeze_panes = self.ws.cell(row=3, column=freeze_cols + 1).coordinate
        self.next_row = 3

    @staticmethod
    def _text(cell, value: str) -> None:
        """A string cell, whatever the string starts with: openpyxl would store "=…" as a formula."""
        cell.value = value
        cell.data_type = "s"
        if value.startswith(RISKY_START):
            cell.quotePrefix = True  # and Excel keeps it text when someone edits it

    def add(self, values: list, total: bool = False, kinds: list[str] | None = None) -> None:
        """A row; `kinds` overrides the columns' kinds for this row (a list of figures of many units)."""
        row = self.next_row
        self.next_row += 1
        kinds = kinds or [kind for _, kind in self.columns]
        for i, (kind, value) in enumerate(zip(kinds, values), start=1):
            cell = self.ws.cell(row=row, column=i)
            if value is None or value == "":
                pass
            elif kind in (TEXT, WRAP) or isinstance(value, str):
                self._text(cell, str(value))
                self.widths[i - 1] = max(self.widths[i - 1], min(len(str(value)), 60) + 2)
            elif kind == MINUTES:
                cell.value = round(value / 60, 2)
            elif kind == DATE:
                cell.value = dt.date.fromisoformat(value) if isinstance(value, str) else value
            else:
                cell.value = value
            cell.number_format = NUMBER_FORMATS[kind]
            cell.border = self._border
            if kind == WRAP:
                cell.alignment = self._Alignment(wrap_text=True, vertical="top")
            else:
                cell.alignment = self._Alignment(vertical="top")
            if total:
                cell.font, cell.fill = self._bold, self._total_fill

    def finish(self, wrap_width: int = 60) -> None:
        from openpyxl.utils import get_column_letter

        for i, ((_, kind), width) in enumerate(zip(self.columns, self.widths), start=1):
            fixed = {DATE: 12, DATETIME: 17, PERCENT: 10, MINUTES: 10, COUNT: 9, SCORE: 7}.get(kind)
            if kind == WRAP:
                width = wrap_width
            elif fixed:
                width = max(fixed, min(width, 16))
            self.widths[i - 1] = min(width, 60)
            self.ws.column_dimensions[get_column_letter(i)].width = self.widths[i - 1]
        total_width = sum(self.widths)
        last = get_column_letter(len(self.columns))
        self.ws.merge_cells(f"A1:{last}1")
        self.ws.row_dimensions[1].height = 20 * max(1, -(-int(len(self.title) * 1.1) // int(total_width)))
        self.ws.row_dimensions[2].height = 15 * max(
            1, max(-(-len(h) // max(1, int(w) - 1)) for (h, _), w in zip(self.columns, self.widths)))
        setup = self.ws.page_setup
        setup.paperSize = self.ws.PAPERSIZE_A4
        setup.orientation = "landscape" if total_width > 100 else "portrait"
        setup.fitToWidth, setup.fitToHeight = 1, 0  # as many pages down as it takes, never across
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.print_title_rows = "1:2"
        self.ws.print_options.horizontalCentered = True
        self.ws.page_margins.left = self.ws.page_margins.right = 0.5
        self.ws.oddFooter.center.text = "Trang &P / &N"


def _level_columns(report: dict) -> list[tuple[str, str]]:
    return [(f"{level['name']} (lượt)", COUNT) for level in report["rating_levels"]]


def _levels(report: dict, r: dict) -> list:
    return [r["ratings"]["by_level"][str(level["score"])] for level in report["rating_levels"]]


TIME_COLUMNS = [("Chờ trung bình (phút)", MINUTES), ("Chờ trung vị (phút)", MINUTES),
                ("Chờ p90 (phút)", MINUTES), ("Phục vụ trung bình (phút)", MINUTES),
                ("Phục vụ trung vị (phút)", MINUTES), ("Phục vụ p90 (phút)", MINUTES)]


def _times(r: dict) -> list:
    w, s = r["waiting_time_s"], r["service_time_s"]
    return [w["mean"], w["median"], w["p90"], s["mean"], s["median"], s["p90"]]


def _summary_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Tổng hợp", "Báo cáo tổng hợp", report,
                   [("Chỉ tiêu", TEXT), ("Giá trị", COUNT), ("Đơn vị", TEXT)])
    t = report["totals"]
    w, s = t["waiting_time_s"], t["service_time_s"]

    def line(label, value, unit, kind=COUNT):
        sheet.add([label, value, unit], kinds=[TEXT, kind, TEXT])

    line("Số phiếu đã cấp", t["issued"], "phiếu")
    line("Đã phục vụ", t["served"], "lượt")
    line("Vắng mặt khi được gọi", t["no_show"], "lượt")
    line("Phiếu đã huỷ", t["cancelled"], "phiếu")
    line("Phiếu hết hạn (hết ngày chưa được gọi)", t["expired"], "phiếu")
    line("Thời gian chờ trung bình", w["mean"], "phút", MINUTES)
    line("Thời gian chờ trung vị", w["median"], "phút", MINUTES)
    line("Thời gian chờ p90 (90% công dân chờ không quá)", w["p90"], "phút", MINUTES)
    line("Thời gian phục vụ trung bình", s["mean"], "phút", MINUTES)
    line("Thời gian phục vụ trung vị", s["median"], "phút", MINUTES)
    line("Thời gian phục vụ p90", s["p90"], "phút", MINUTES)
    line("Lượt đánh giá", t["ratings"]["count"], "lượt")
    for level in report["rating_levels"]:
        line(f"  {level['name']}", t["ratings"]["by_level"][str(level["score"])], "lượt")
    line("Tỷ lệ hài lòng", t["ratings"]["satisfied_share"], "", PERCENT)
    for source, label in SOURCE_COLUMNS:
        line(label, t["rating_sources"][source], "lượt")
    line("Góp ý của công dân", len(report["comments"]), "lượt")
    sheet.finish()


def _table_sheet(book, report: dict, name: str, heading: str, key_columns, key_values, key: str,
                 with_issued: bool, with_sources: bool) -> None:
    head = [("Phiếu đã cấp (phiếu)", COUNT)] if with_issued else []
    head += [("Đã phục vụ (lượt)", COUNT), ("Vắng mặt (lượt)", COUNT)]
    if with_issued:
        head += [("Đã huỷ (phiếu)", COUNT), ("Hết hạn (phiếu)", COUNT)]
    tail = [("Lượt đánh giá (lượt)", COUNT), *_level_columns(report), ("Tỷ lệ hài lòng (%)", PERCENT)]
    if with_sources:
        tail += [(f"{label} (lượt)", COUNT) for _, label in SOURCE_COLUMNS]
    sheet = _Sheet(book, name, heading, report, [*key_columns, *head, *TIME_COLUMNS, *tail],
                   freeze_cols=len(key_columns))

    def values(r):
        counts = [r["issued"]] if with_issued else []
        counts += [r["served"], r["no_show"]]
        if with_issued:
            counts += [r["cancelled"], r["expired"]]
        end = [r["ratings"]["count"], *_levels(report, r), r["ratings"]["satisfied_share"]]
        if with_sources:
            end += [r["rating_sources"][s] for s, _ in SOURCE_COLUMNS]
        return [*counts, *_times(r), *end]

    for r in report[key]:
        sheet.add([*key_values(r), *values(r)])
    sheet.add([TOTAL_LABEL, *[""] * (len(key_columns) - 1), *values(report["totals"])], total=True)
    sheet.finish()


def _day_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Theo ngày", "Báo cáo theo ngày", report, [
        ("Ngày", DATE), ("Thứ", TEXT), ("Phiếu đã cấp (phiếu)", COUNT), ("Đã phục vụ (lượt)", COUNT),
        ("Vắng mặt (lượt)", COUNT), ("Chờ trung bình (phút)", MINUTES), ("Phục vụ trung bình (phút)", MINUTES),
        ("Lượt đánh giá (lượt)", COUNT), ("Tỷ lệ hài lòng (%)", PERCENT)])
    for d in report["by_day"]:
        day = dt.date.fromisoformat(d["day"])
        sheet.add([day, WEEKDAYS[day.weekday()], d["issued"], d["served"], d["no_show"], d["mean_wait_s"],
                   d.get("mean_service_s"), d.get("ratings"), d.get("satisfied_share")])
    t = report["totals"]
    sheet.add([TOTAL_LABEL, "", t["issued"], t["served"], t["no_show"], t["waiting_time_s"]["mean"],
               t["service_time_s"]["mean"], t["ratings"]["count"], t["ratings"]["satisfied_share"]], total=True)
    sheet.finish()


def _hour_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Theo giờ", "Số phiếu cấp theo giờ", report, [
        ("Khung giờ", TEXT), ("Phiếu đã cấp (phiếu)", COUNT), ("Tỷ lệ trong kỳ (%)", PERCENT)])
    issued = sum(h["issued"] for h in report["by_hour"])
    for h in report["by_hour"]:
        sheet.add([f"{h['hour']:02d}:00 – {(h['hour'] + 1) % 24:02d}:00", h["issued"],
                   round(h["issued"] / issued, 3) if issued else None])
    sheet.add([TOTAL_LABEL, issued, 1 if issued else None], total=True)
    sheet.finish()


def _reasons_sheet(book, report: dict) -> None:
    """How often each reason was named, per field, counter and clerk (a rating may name several)."""
    reasons = report["reasons"]
    lowest = str(report["rating_levels"][-1]["score"])
    sheet = _Sheet(book, "Lý do không hài lòng", "Lý do không hài lòng", report, [
        ("Nhóm", TEXT), ("Tên", TEXT), (f"{report['rating_levels'][-1]['name']} (lượt)", COUNT),
        *[(f"{r['name']} (lượt)", COUNT) for r in reasons]], freeze_cols=2)

    def values(r):
        return [r["ratings"]["by_level"][lowest], *[r["reasons"][x["code"]] for x in reasons]]

    for label, key, code, name in GROUPS:
        if key not in report:
            continue
        for r in report[key]:
            sheet.add([label, name(r) or str(code(r)), *values(r)])
    sheet.add([TOTAL_LABEL, "Toàn cơ quan", *values(report["totals"])], total=True)
    sheet.finish()


def _comments_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Góp ý", "Góp ý của công dân", report, [
        ("STT", COUNT), ("Thời gian", DATETIME), ("Số phiếu", TEXT), ("Quầy", TEXT), ("Cán bộ", TEXT),
        ("Lĩnh vực", TEXT), ("Điểm", SCORE), ("Mức đánh giá", TEXT), ("Lý do", WRAP), ("Nguồn", TEXT),
        ("Nội dung góp ý", WRAP)], freeze_cols=0)
    for i, c in enumerate(report["comments"], start=1):
        sheet.add([i, _office_time(c["at"]), c["ticket"], c["counter_name"] or c["counter"],
                   c["clerk_name"] or c["clerk"], c["field_name"], c["score"], c["level"],
                   _reason_names(report, c["reasons"]), SOURCE_NAMES[c["source"] or "unknown"], c["comment"]])
    sheet.add([TOTAL_LABEL, len(report["comments"])], total=True, kinds=[TEXT, COUNT])
    sheet.ws.cell(row=sheet.next_row - 1, column=2).number_format = '#,##0" góp ý"'
    sheet.finish(wrap_width=50)


def _bookings_sheet(book, report: dict) -> None:
    """Online bookings: made, checked in, missed, cancelled, and the wait counted from the slot's start."""
    data = report.get("bookings")
    if not data or not data["totals"]["made"]:
        return
    sheet = _Sheet(book, "Đặt lịch", "Lấy số trực tuyến (đặt lịch hẹn)", report, [
        ("Nhóm", TEXT), ("Tên", TEXT), ("Đã đặt (lượt)", COUNT), ("Đã xác nhận (lượt)", COUNT),
        ("Không đến (lượt)", COUNT), ("Đã huỷ (lượt)", COUNT), ("Chưa đến giờ (lượt)", COUNT),
        ("Chờ từ giờ hẹn, trung bình (phút)", MINUTES), ("Chờ từ giờ hẹn, p90 (phút)", MINUTES)], freeze_cols=2)

    def values(r):
        wait = r["wait_from_slot_s"]
        return [r["made"], r["checked_in"], r["missed"], r["cancelled"], r["booked"], wait["mean"], wait["p90"]]

    for label, key in (("Cơ quan", "by_office"), ("Lĩnh vực", "by_field")):
        for r in data.get(key, []):
            sheet.add([label, r["name"], *values(r)])
    sheet.add([TOTAL_LABEL, "", *values(data["totals"])], total=True)
    sheet.finish()


def to_xlsx(report: dict) -> bytes:
    """A workbook an official can print and send as it is: a sheet per table."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    _summary_sheet(book, report)
    if "by_office" in report:  # every office of the province
        _table_sheet(book, report, "Theo cơ quan", "Báo cáo theo cơ quan", [("Mã", TEXT), ("Cơ quan", TEXT)],
                     lambda r: [r["slug"], r["name"]], "by_office", True, False)
    _table_sheet(book, report, "Theo lĩnh vực", "Báo cáo theo lĩnh vực", [("Mã", TEXT), ("Lĩnh vực", TEXT)],
                 lambda r: [r["code"], r["name"]], "by_field", True, False)
    _table_sheet(book, report, "Theo quầy", "Báo cáo theo quầy", [("Quầy số", COUNT), ("Tên quầy", TEXT)],
                 lambda r: [r["number"], r["name"]], "by_counter", False, True)
    _table_sheet(book, report, "Theo cán bộ", "Báo cáo theo cán bộ",
                 [("Tên đăng nhập", TEXT), ("Họ tên", TEXT)],
                 lambda r: [r["username"], r["name"]], "by_clerk", False, True)
    _day_sheet(book, report)
    _hour_sheet(book, report)
    _reasons_sheet(book, report)
    _comments_sheet(book, report)
    _bookings_sheet(book, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
