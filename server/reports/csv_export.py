"""The summary as CSV: UTF-8 with a BOM, formula-safe, the columns it always had first."""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Iterable

# Cells a spreadsheet would run as a formula (or as a DDE command) when they start like one.
RISKY_START = ("=", "+", "-", "@", "\t", "\r")

# The flat tables of the CSV, in order; a `by_office` table joins with its own line here.
GROUPS = (
    ("Cơ quan", "by_office", lambda r: r["slug"], lambda r: r["name"]),
    ("Lĩnh vực", "by_field", lambda r: r["code"], lambda r: r["name"]),
    ("Quầy", "by_counter", lambda r: r["number"], lambda r: r["name"]),
    ("Cán bộ", "by_clerk", lambda r: r["username"], lambda r: r["name"]),
)
SOURCE_NAMES = {"tablet": "Máy tính bảng tại quầy", "phone": "Điện thoại (trang của phiếu)",
                "unknown": "Chưa rõ nguồn"}

COLUMNS = [
    ("group", "Nhóm"), ("key", "Mã"), ("name", "Tên"), ("issued", "Số phiếu cấp"), ("served", "Đã phục vụ"),
    ("no_show", "Vắng mặt"), ("wait_mean", "Chờ TB (giây)"), ("wait_median", "Chờ trung vị (giây)"),
    ("wait_p90", "Chờ p90 (giây)"), ("service_mean", "Phục vụ TB (giây)"), ("service_median", "Phục vụ trung vị (giây)"),
    ("service_p90", "Phục vụ p90 (giây)"), ("ratings", "Lượt đánh giá"), ("satisfied_share", "Tỷ lệ hài lòng"),
]
SOURCE_COLUMNS = [("tablet", "Đánh giá qua máy tính bảng"), ("phone", "Đánh giá qua điện thoại"),
                  ("unknown", "Đánh giá chưa rõ nguồn")]
COMMENT_COLUMNS = ["Nhóm", "Số phiếu", "Thời gian", "Quầy", "Cán bộ", "Lĩnh vực", "Điểm", "Mức đánh giá",
                   "Lý do", "Nguồn", "Nội dung góp ý"]


def safe_text(value):
    """A text cell a spreadsheet shows as text: a leading ' before what would start a formula."""
    if isinstance(value, str) and value.startswith(RISKY_START):
        return "'" + value
    return value


def _groups(report: dict):
    yield "Tổng", [("all", "Toàn cơ quan", report["totals"])]
    for label, key, code, name in GROUPS:
        if key in report:
            yield label, [(code(r), name(r), r) for r in report[key]]


def rows(report: dict) -> Iterable[list]:
    """Flat rows for the CSV: totals, then fields, counters and clerks; times in seconds as before,
    then where the ratings came from and how often each reason was named."""
    codes = [r["code"] for r in report["reasons"]]
    for group, items in _groups(report):
        for key, name, r in items:
            yield [group, key, name, r.get("issued", ""), r["served"], r["no_show"],
                   r["waiting_time_s"]["mean"], r["waiting_time_s"]["median"], r["waiting_time_s"]["p90"],
                   r["service_time_s"]["mean"], r["service_time_s"]["median"], r["service_time_s"]["p90"],
                   r["ratings"]["count"], r["ratings"]["satisfied_share"],
                   *[r["rating_sources"][s] for s, _ in SOURCE_COLUMNS], *[r["reasons"][c] for c in codes]]


def _office_time(iso: str) -> dt.datetime:
    """The office's wall-clock time of an ISO time with offset (spreadsheets know no time zones)."""
    return dt.datetime.fromisoformat(iso).replace(tzinfo=None)


def _reason_names(report: dict, codes: list[str]) -> str:
    names = {r["code"]: r["name"] for r in report["reasons"]}
    return "; ".join(names.get(c, c) for c in codes)


def to_csv(report: dict) -> str:
    """UTF-8 with a BOM (so Excel reads Vietnamese), comma-separated. The first table keeps the
    columns it always had; the comments follow it after an empty line, each row marked "Góp ý"."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)

    def write(cells):
        writer.writerow(["" if v is None else safe_text(v) for v in cells])

    write([label for _, label in COLUMNS] + [label for _, label in SOURCE_COLUMNS]
          + [f"Lý do: {r['name']}" for r in report["reasons"]])
    for row in rows(report):
        write(row)
    if report["comments"]:
        writer.writerow([])
        write(COMMENT_COLUMNS)
        for c in report["comments"]:
            write(["Góp ý", c["ticket"], _office_time(c["at"]).strftime("%Y-%m-%d %H:%M"), c["counter"],
                   c["clerk"], c["field_name"], c["score"], c["level"], _reason_names(report, c["reasons"]),
                   SOURCE_NAMES[c["source"] or "unknown"], c["comment"]])
    return out.getvalue()
