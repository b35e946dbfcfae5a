"""What goes on a ticket, as plain data: the server fills it, the printer draws it."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import asdict, dataclass
from typing import Any


class PaperWidth(enum.IntEnum):
    """Printable dots across the roll at 203 dpi (8 dots/mm)."""

    MM58 = 384
    MM80 = 576


PAPER_DOTS = {58: PaperWidth.MM58, 80: PaperWidth.MM80}

PRIORITY_LABELS_VI = {
    "elderly": "Người cao tuổi",
    "disabled": "Người khuyết tật",
    "pregnant": "Phụ nữ mang thai / có con nhỏ",
    "merit": "Người có công",
}

DEFAULT_FOOTER = "Vui lòng chờ gọi số. Xin cảm ơn!"


@dataclass(frozen=True)
class TicketPrint:
    office_name: str
    field_name: str
    code: str
    people_ahead: int
    issued_at: dt.datetime  # aware; shown in `timezone`
    unit: str = ""
    priority_label: str | None = None  # already in Vietnamese, e.g. "Người cao tuổi"
    qr_url: str | None = None
    footer: str = DEFAULT_FOOTER
    reprint: bool = False
    timezone: str = "Asia/Ho_Chi_Minh"

    def __post_init__(self):
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at must be timezone-aware")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for sending a job to a printer agent."""
        data = asdict(self)
        data["issued_at"] = self.issued_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TicketPrint":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["issued_at"] = dt.datetime.fromisoformat(known["issued_at"])
        known["people_ahead"] = int(known["people_ahead"])
        return cls(**known)


def sample_ticket(reprint: bool = False) -> TicketPrint:
    """A realistic ticket with every Vietnamese tone mark, for print-test and benchmarks."""
    return TicketPrint(
        office_name="Trung tâm Phục vụ hành chính công phường Ba Đình",
        unit="UBND phường Ba Đình",
        field_name="Hộ tịch (khai sinh, kết hôn, khai tử)",
        code="A007",
        people_ahead=12,
        issued_at=dt.datetime(2025, 11, 25, 1, 15, tzinfo=dt.timezone.utc),
        priority_label=PRIORITY_LABELS_VI["elderly"],
        qr_url="http://192.168.1.10:8000/t/Zk3q9vR2mX8pL1sT",
        reprint=reprint,
    )
