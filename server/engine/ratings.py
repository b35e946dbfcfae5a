"""Ratings: one per served ticket, on the office's scale, from the citizen only."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..models import Counter, Rating, Ticket
from .base import Change, conflict, invalid, not_found
from .day import ServiceDay

RATING_LEVELS = {
    3: [(3, "Rất hài lòng"), (2, "Hài lòng"), (1, "Không hài lòng")],
    5: [(5, "Rất hài lòng"), (4, "Hài lòng"), (3, "Bình thường"), (2, "Không hài lòng"), (1, "Rất không hài lòng")],
}
DEFAULT_RATING_REASONS = [
    {"code": "attitude", "name": "Thái độ phục vụ chưa tốt"},
    {"code": "guidance", "name": "Hướng dẫn chưa rõ ràng"},
    {"code": "waiting", "name": "Thời gian chờ lâu"},
    {"code": "speed", "name": "Giải quyết chậm"},
    {"code": "harassment", "name": "Gây phiền hà, nhũng nhiễu"},
    {"code": "facility", "name": "Cơ sở vật chất chưa tốt"},
]
COMMENT_MAX = 500


def satisfied_from(scale: int) -> int:
    """The lowest score that counts as satisfied: "Hài lòng" on either scale."""
    return 2 if scale == 3 else 4


class Ratings(ServiceDay):
    def rating_scale(self, office: int | None = None) -> dict:
        info = self.office_info(office)
        return {
            "scale": info.rating_scale,
            "levels": [{"score": score, "name": name} for score, name in RATING_LEVELS[info.rating_scale]],
            "reasons": info.settings.get("rating_reasons") or DEFAULT_RATING_REASONS,
            "comment_max": COMMENT_MAX,
        }

    def rate(self, token: str, score: Any, reasons: Any = None, comment: Any = None, *,
             source: str = "phone", tablet_counter_id: int | None = None) -> dict:
        """The citizen's one rating of a served ticket: from its own page (the token is the secret)
        or from the tablet paired to the counter that served it (`tablet_counter_id`)."""
        with self.storage.read() as s:
            office_id = s.scalar(select(Ticket.office_id).where(Ticket.token == token))
        scale = self.rating_scale(office_id)  # the ticket's office (the default one for an unknown token)
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= scale["scale"]:
            raise invalid("invalid_score", f"Điểm đánh giá phải là số nguyên từ 1 đến {scale['scale']}.")
        reasons = reasons or []
        known = {r["code"] for r in scale["reasons"]}
        if not isinstance(reasons, list) or not all(isinstance(r, str) and r in known for r in reasons):
            raise invalid("invalid_reasons", "Lý do không hài lòng không hợp lệ.")
        comment = comment or ""
        if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
            raise invalid("invalid_comment", f"Góp ý tối đa {COMMENT_MAX} ký tự.")
        if office_id is None:
            raise not_found("ticket_not_found", "Không tìm thấy phiếu này.")
        with self.storage.write() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.token == token).with_for_update())
            if ticket.status != "done":
                raise conflict("not_served", "Số này chưa được phục vụ xong nên chưa đánh giá được.")
            if source == "tablet" and ticket.counter_id != tablet_counter_id:
                raise conflict("wrong_counter", "Máy tính bảng này chỉ nhận đánh giá cho quầy của nó.")
            if s.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)):
                raise conflict("already_rated", "Số này đã được đánh giá. Xin cảm ơn!")
            rating = Rating(office_id=ticket.office_id, ticket_id=ticket.id, score=score, scale=scale["scale"],
                            reasons=sorted(set(reasons)), comment=comment.strip(), counter_id=ticket.counter_id,
                            clerk_id=ticket.clerk_id, field_id=ticket.field_id, created_at=self.now(), source=source)
            s.add(rating)
            s.flush()
            self._event(s, ticket.office_id, "rated", ticket, counter_id=ticket.counter_id, user_id=ticket.clerk_id,
                        score=score, source=source)
            counter_number = s.scalar(select(Counter.number).where(Counter.id == ticket.counter_id))
        self._tell([Change("rated", {"token": token, "counter": counter_number}, office=office_id),
                    Change("ticket_updated", {"token": token}, office=office_id)])
        return {"ticket": ticket.code, "score": score, "reasons": rating.reasons, "comment": rating.comment,
                "source": source}
