"""An office's paired devices: a pairing code (and its link and QR) for a new one; revoking one."""
from __future__ import annotations

from sqlalchemy import select

from ..auth import AuthError, create_pairing, pairing_url
from ..models import DEVICE_KINDS, Counter, Device
from .common import AdminBase, conflict, invalid, not_found, text


class DevicesAdmin(AdminBase):
    def devices(self, office: int) -> list[dict]:
        now = self.engine.now()
        with self.storage.read() as s:
            numbers = dict(s.execute(select(Counter.id, Counter.number).where(Counter.office_id == office)).all())
            out = []
            for d in s.scalars(select(Device).where(Device.office_id == office).order_by(Device.id.desc())):
                if d.revoked_at:
                    status = "revoked"
                elif d.paired_at:
                    status = "paired"
                elif d.pairing_expires_at and d.pairing_expires_at < now:
                    status = "expired"
                else:
                    status = "waiting"
                out.append({"id": d.id, "kind": d.kind, "name": d.name, "counter": numbers.get(d.counter_id),
                            "status": status, "paired": d.paired_at is not None,
                            "paired_at": self.engine.local(d.paired_at), "last_seen_at": self.engine.local(d.last_seen_at),
                            "revoked_at": self.engine.local(d.revoked_at),
                            "created_at": self.engine.local(d.created_at)})
            return out

    def pair_device(self, data: dict, base_url: str, user_id: int | None = None, *, office: int) -> dict:
        kind, counter = data.get("kind"), data.get("counter")
        if kind not in DEVICE_KINDS:
            raise invalid("invalid_kind", "Loại thiết bị là máy lấy số (kiosk), màn hình (display) hoặc máy đánh giá (tablet).")
        if counter is not None and (not isinstance(counter, int) or isinstance(counter, bool)):
            raise invalid("invalid_counter", "Số quầy phải là số nguyên.")
        name = text(data.get("name"), "Tên thiết bị", "invalid_name", 100, required=False)
        try:
            device, code = create_pairing(self.storage, kind, counter, name, office_id=office)
        except AuthError as err:
            raise invalid("invalid_pairing", str(err)) from None
        with self.storage.write() as s:
            self._audit(s, office, "device_pairing", user_id, device=device.id, device_kind=kind)
        view = next(d for d in self.devices(office) if d["id"] == device.id)
        return {"device": view, "code": code, "url": pairing_url(base_url, kind, code)}

    def revoke_device(self, device_id: int, user_id: int | None = None, *, office: int) -> dict:
        with self.storage.write() as s:
            device = s.get(Device, device_id)
            if device is None or device.office_id != office:
                raise not_found("device_not_found", "Không có thiết bị này.")
            if device.revoked_at:
                raise conflict("already_revoked", "Thiết bị này đã bị thu hồi.")
            device.revoked_at = self.engine.now()
            device.pairing_code_hash = None  # an unused code dies with the device
            self._audit(s, office, "device_revoked", user_id, device=device_id)
        self.engine.device_revoked(device_id)
        return next(d for d in self.devices(office) if d["id"] == device_id)
