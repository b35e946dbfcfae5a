"""Online number-taking and appointments (issue 11): slots, seats, the per-phone limit, check-in
windows, missed bookings, the order of booked tickets, the API's answers and its abuse limits.
On SQLite and PostgreSQL, with a clock the test moves (08:00 on 25/11/2026 to start)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from server.engine import CODE_ALPHABET, QueueEngine, QueueError

from .conftest import TZ, build
from .test_api import error_code

PHONE = "0912 345 678"


def at(hour: int, minute: int = 0, day: int = 25) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def iso(hour: int, minute: int = 0, day: int = 25) -> str:
    return at(hour, minute, day).isoformat()


def book(client, start: str, field: str = "ho-tich", phone: str = PHONE, **extra):
    return client.post("/api/bookings", json={"field": field, "start": start, "phone": phone, "name": "Lê Văn Tám",
                                              **extra})


@pytest.fixture
def admin_client(client, admin):
    return client, admin


# ----- slots -------------------------------------------------------------------------------------------
def test_slots_tile_each_period_of_the_hours_from_its_start(client):
    # dat-dai: 07:00-11:30 and 13:00-16:30, 30-minute slots of 2 seats (the demo office)
    slots = client.get("/api/booking/slots?field=dat-dai&date=2026-11-26").get_json()["slots"]
    starts = [s["start"][11:16] for s in slots]
    assert starts[:2] == ["07:00", "07:30"] and starts[8] == "11:00" and starts[9] == "13:00"
    assert starts[-1] == "16:00" and len(starts) == 9 + 7
    assert all(s["seats"] == 2 and s["left"] == 2 for s in slots)
    assert slots[0]["start"] == "2026-11-26T07:00:00+07:00" and slots[0]["end"] == "2026-11-26T07:30:00+07:00"


def test_slots_of_a_period_that_does_not_start_on_the_hour(client, admin):
    client.patch("/api/admin/fields/ho-tich", json={"hours": ["7h15-9h"], "booking": {
        "slot_minutes": 45, "seats": 3, "days_ahead": 2}}, headers=admin)
    slots = client.get("/api/booking/slots?field=ho-tich&date=2026-11-26").get_json()["slots"]
    assert [(s["start"][11:16], s["end"][11:16]) for s in slots] == [("07:15", "08:00"), ("08:00", "08:45")]


def test_today_lists_the_slot_under_way_until_its_check_in_window_closes(client, clock):
    clock.set_local(2026, 11, 25, 8, 14)
    starts = [s["start"][11:16] for s in client.get("/api/booking/slots?field=ho-tich").get_json()["slots"]]
    assert starts[0] == "08:00"  # under way, still open until 08:15
    clock.set_local(2026, 11, 25, 8, 15)
    starts = [s["start"][11:16] for s in client.get("/api/booking/slots?field=ho-tich").get_json()["slots"]]
    assert starts[0] == "08:30"


def test_days_ahead_and_blackout_days(client, admin):
    assert client.get("/api/booking/slots?field=ho-tich&date=2026-12-01").status_code == 200  # today + 6
    r = client.get("/api/booking/slots?field=ho-tich&date=2026-12-02")
    assert r.status_code == 422 and error_code(r) == "day_out_of_range"
    r = client.get("/api/booking/slots?field=ho-tich&date=2026-11-24")
    assert r.status_code == 422 and error_code(r) == "day_out_of_range"
    r = client.post("/api/admin/blackout-days", json={"day": "2026-11-27", "note": "Nghỉ bù"}, headers=admin)
    assert r.status_code == 201
    closed = client.get("/api/booking/slots?field=ho-tich&date=2026-11-27").get_json()
    assert closed["slots"] == [] and "không nhận đặt lịch" in closed["closed"]
    r = book(client, iso(8, day=27))
    assert r.status_code == 422 and error_code(r) == "day_closed"
    assert client.delete("/api/admin/blackout-days/2026-11-27", headers=admin).status_code == 200
    assert book(client, iso(8, day=27)).status_code == 201


# ----- booking ------------------------------------------------------------------------------------------
def test_a_booking_has_a_readable_code_a_secret_token_and_no_phone_in_public(client):
    r = book(client, iso(9, day=26))
    assert r.status_code == 201
    b = r.get_json()
    assert len(b["code"]) == 6 and set(b["code"]) <= set(CODE_ALPHABET)
    assert len(b["token"]) >= 20 and b["booking_url"].endswith(f"/b/{b['token']}")
    assert b["status"] == "booked" and b["start"] == "2026-11-26T09:00:00+07:00" and b["end"].endswith("09:30:00+07:00")
    assert b["phone"] == "09xx xxx 678"
    page = client.get(f"/api/bookings/{b['token']}")
    assert page.status_code == 200 and "345" not in page.get_data(as_text=True) and "0912" not in page.get_data(as_text=True)
    ics = client.get(f"/api/bookings/{b['token']}.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert "DTSTART:20261126T020000Z" in ics.get_data(as_text=True) and b["code"] in ics.get_data(as_text=True)


@pytest.mark.parametrize("body,status,code", [
    ({"field": "ho-tich", "start": "2026-11-26T09:00:00+07:00", "phone": "12345"}, 422, "invalid_phone"),
    ({"field": "ho-tich", "start": "2026-11-26T09:00:00+07:00", "phone": "+1 202 555 0100"}, 422, "invalid_phone"),
    ({"field": "ho-tich", "start": "2026-11-26T09:10:00+07:00", "phone": PHONE}, 422, "no_such_slot"),
    ({"field": "ho-tich", "start": "2026-11-25T07:30:00+07:00", "phone": PHONE}, 422, "slot_closed"),
    ({"field": "ho-tich", "start": "2026-11-26T09:00:00", "phone": PHONE}, 422, "invalid_start"),
    ({"field": "ho-tich", "start": "sáng mai", "phone": PHONE}, 422, "invalid_start"),
    ({"field": "chung-thuc", "start": "2026-11-26T09:00:00+07:00", "phone": PHONE}, 422, "field_not_bookable"),
    ({"field": "khong-co", "start": "2026-11-26T09:00:00+07:00", "phone": PHONE}, 404, "field_not_found"),
    ({"start": "2026-11-26T09:00:00+07:00", "phone": PHONE}, 422, "invalid_field"),
])
def test_bad_bookings_get_a_clear_error_and_change_nothing(client, body, status, code):
    r = client.post("/api/bookings", json=body)
    assert r.status_code == status and error_code(r) == code
    slots = client.get("/api/booking/slots?field=ho-tich&date=2026-11-26").get_json()["slots"]
    assert all(s["left"] == s["seats"] for s in slots)


def test_a_phone_in_the_plus_84_form_is_the_same_phone(client):
    assert book(client, iso(9, day=26), phone="+84 912.345.678").status_code == 201
    assert book(client, iso(10, day=26), phone="0912345678").status_code == 201
    r = book(client, iso(11, day=26), phone="84912345678")
    assert r.status_code == 409 and error_code(r) == "booking_limit"


def test_a_full_slot_and_the_per_phone_limit(client):
    for n in range(2):  # dat-dai: 2 seats a slot
        assert book(client, iso(9, day=26), field="dat-dai", phone=f"09123456{n:02d}").status_code == 201
    r = book(client, iso(9, day=26), field="dat-dai", phone="0987654321")
    assert r.status_code == 409 and error_code(r) == "slot_full"
    # the same phone: 2 bookings a day at the office, a third that day is refused, the next day is fine
    assert book(client, iso(8, day=26)).status_code == 201
    assert book(client, iso(10, day=26)).status_code == 201
    r = book(client, iso(11, day=26))
    assert r.status_code == 409 and error_code(r) == "booking_limit" and "26/11/2026" in r.get_json()["error"]["message"]
    assert book(client, iso(11, day=27)).status_code == 201


def test_cancel_frees_the_seat_and_the_phones_quota(client):
    first = book(client, iso(9, day=26), field="dat-dai", phone="0911111111").get_json()
    book(client, iso(9, day=26), field="dat-dai", phone="0922222222")
    assert book(client, iso(9, day=26), field="dat-dai", phone="0933333333").status_code == 409
    r = client.delete(f"/api/bookings/{first['token']}")
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert client.delete(f"/api/bookings/{first['token']}").status_code == 409
    assert book(client, iso(9, day=26), field="dat-dai", phone="0933333333").status_code == 201
    # the quota too: 0911111111 may book twice again that day
    assert book(client, iso(10, day=26), field="dat-dai", phone="0911111111").status_code == 201
    assert book(client, iso(11, day=26), field="dat-dai", phone="0911111111").status_code == 201


def test_a_retried_booking_with_its_idempotency_key_is_one_booking(client):
    headers = {"Idempotency-Key": "dien-thoai-lan-1"}
    a = client.post("/api/bookings", json={"field": "dat-dai", "start": iso(9, day=26), "phone": PHONE}, headers=headers)
    b = client.post("/api/bookings", json={"field": "dat-dai", "start": iso(9, day=26), "phone": PHONE}, headers=headers)
    assert a.status_code == b.status_code == 201 and a.get_json()["code"] == b.get_json()["code"]
    assert b.headers["Idempotent-Replayed"] == "true"
    left = client.get("/api/booking/slots?field=dat-dai&date=2026-11-26").get_json()["slots"][4]
    assert left["start"].endswith("09:00:00+07:00") and left["left"] == 1


def test_booking_is_rate_limited_per_address(tmp_path, database_url, clock):
    app = build(tmp_path, database_url, clock, booking_rate_limit="3/hour")
    try:
        client = app.test_client()
        statuses = [book(client, iso(9 + n, day=26), phone=f"09000000{n:02d}").status_code for n in range(4)]
        assert statuses == [201, 201, 201, 429]
    finally:
        app.extensions["motcua"].storage.dispose()


# ----- check-in ------------------------------------------------------------------------------------------------
def test_check_in_window_edges(client, clock):
    code = book(client, iso(9)).get_json()["code"]
    clock.set_local(2026, 11, 25, 8, 29, 59)
    r = client.post("/api/bookings/check-in", json={"code": code})
    assert r.status_code == 409 and error_code(r) == "too_early"
    assert "09:00" in r.get_json()["error"]["message"] and "08:30" in r.get_json()["error"]["message"]
    clock.set_local(2026, 11, 25, 8, 30)
    r = client.post("/api/bookings/check-in", json={"code": code.lower()})
    assert r.status_code == 201
    ticket = r.get_json()
    assert ticket["code"] == "A001" and ticket["booking"] == {"code": code, "start": "2026-11-25T09:00:00+07:00"}
    assert ticket["booked_start"] == "2026-11-25T09:00:00+07:00" and ticket["track_url"]
    again = client.post("/api/bookings/check-in", json={"code": code})
    assert again.status_code == 200 and again.get_json()["code"] == "A001"
    assert client.post("/api/tickets", json={"field": "ho-tich"}).get_json()["code"] == "A002"  # one sequence
    status = client.get(f"/api/bookings/{book(client, iso(9, day=26)).get_json()['token']}").get_json()
    assert status["status"] == "booked"


def test_too_late_and_unknown_codes(client, clock):
    code = book(client, iso(8, 30)).get_json()["code"]
    clock.set_local(2026, 11, 25, 8, 45)
    r = client.post("/api/bookings/check-in", json={"code": code})
    assert r.status_code == 409 and error_code(r) == "too_late" and "lấy số thường" in r.get_json()["error"]["message"]
    r = client.post("/api/bookings/check-in", json={"code": "ZZZZZZ"})
    assert r.status_code == 404 and error_code(r) == "booking_not_found"
    r = client.post("/api/bookings/check-in", json={"code": ""})
    assert r.status_code == 422


def test_a_booking_never_checked_in_is_missed_when_its_window_closes(client, clock, engine, app):
    token = book(client, iso(8, 30)).get_json()["token"]
    clock.set_local(2026, 11, 25, 8, 44, 59)
    assert client.get(f"/api/bookings/{token}").get_json()["status"] == "booked"
    clock.set_local(2026, 11, 25, 8, 45)
    assert client.get(f"/api/bookings/{token}").get_json()["status"] == "missed"
    # the seat is not given back after the slot (nobody can book it any more anyway)
    r = client.delete(f"/api/bookings/{token}")
    assert r.status_code == 409


def test_missed_is_marked_after_a_restart_too(app, client, clock):
    token = book(client, iso(9)).get_json()["token"]
    clock.set_local(2026, 11, 25, 12, 0)  # the server was down meanwhile
    restarted = QueueEngine(app.extensions["motcua"].storage, TZ, clock=clock)
    assert restarted.sweep_missed() == 1
    assert restarted.booking_status(token)["status"] == "missed"
    from sqlalchemy import select

    from server.models import Event

    with app.extensions["motcua"].storage.read() as s:
        assert s.scalar(select(Event.kind).where(Event.kind == "booking_missed")) == "booking_missed"


# ----- order ---------------------------------------------------------------------------------------------------
def test_booked_tickets_are_called_before_walk_ins_once_their_slot_has_started(client, clerk, clock):
    late_slot = book(client, iso(9)).get_json()["code"]
    early_slot = book(client, iso(8, 30), phone="0987654321").get_json()["code"]
    walk_in = client.post("/api/tickets", json={"field": "ho-tich"}).get_json()["code"]  # 08:00, A001
    clock.set_local(2026, 11, 25, 8, 1)
    prio = client.post("/api/tickets", json={"field": "ho-tich", "priority": "elderly"}).get_json()["code"]  # A002
    clock.set_local(2026, 11, 25, 8, 35)
    booked_late = client.post("/api/bookings/check-in", json={"code": late_slot}).get_json()  # slot 09:00, A003
    clock.set_local(2026, 11, 25, 8, 40)
    booked_early = client.post("/api/bookings/check-in", json={"code": early_slot}).get_json()  # slot 08:30, A004
    # 08:41: the 08:30 booking has started and goes first; the 09:00 one has not: priority, then the walk-in
    clock.set_local(2026, 11, 25, 8, 41)
    view = client.get("/api/counters/1", headers=clerk).get_json()
    assert [t["code"] for t in view["waiting"]][:2] == [booked_early["code"], prio]
    assert view["waiting"][0]["booked_start"] == "2026-11-25T08:30:00+07:00" and "booked_start" not in view["waiting"][1]
    calls = [client.post("/api/counters/1/call-next", headers=clerk).get_json()["code"] for _ in range(2)]
    assert calls == [booked_early["code"], prio]
    clock.set_local(2026, 11, 25, 9, 0)  # the 09:00 slot starts: before the walk-in who came at 08:00
    called = client.post("/api/counters/1/call-next", headers=clerk).get_json()
    assert called["code"] == booked_late["code"] and called["booked_start"] == "2026-11-25T09:00:00+07:00"
    assert client.post("/api/counters/1/call-next", headers=clerk).get_json()["code"] == walk_in
    recent = client.get("/api/state").get_json()["recent_calls"]
    assert recent[1]["ticket"]["booked_start"] == "2026-11-25T09:00:00+07:00"
    assert "booked_start" not in recent[0]["ticket"]


def test_a_walk_ins_estimate_counts_the_bookings_that_will_come_first(client):
    client.post("/api/tickets", json={"field": "ho-tich"})
    alone = client.post("/api/tickets", json={"field": "ho-tich"}).get_json()
    for n in range(4):  # the 08:00 slot (now): these citizens will be called before any walk-in
        book(client, iso(8), phone=f"09876543{n:02d}")
    after = client.post("/api/tickets", json={"field": "ho-tich"}).get_json()
    # ho-tich: 8 minutes a citizen, 2 counters: 1 ahead ≈ 4 min, 2 ahead ≈ 8 min; 4 bookings first: 16 min more
    assert (alone["ahead"], after["ahead"]) == (1, 2)
    assert alone["estimated_wait_s"] == 240 and after["estimated_wait_s"] == 480 + 4 * 240
    fields = {f["code"]: f for f in client.get("/api/fields").get_json()["fields"]}
    assert fields["ho-tich"]["estimated_wait_s"] >= after["estimated_wait_s"]



def test_the_boards_waiting_counts_agree_with_the_kiosks_and_follow_bookings_at_once(client, engine):
    """A board's counts (sent with every call) come from a leaner read than the kiosk's field list;
    both say the same, and a booking made or cancelled moves the walk-ins' estimate at once."""
    for field in ("ho-tich", "ho-tich", "chung-thuc"):
        client.post("/api/tickets", json={"field": field})

    def board():
        return {f["code"]: (f["waiting"], f["estimated_wait_s"]) for f in engine.waiting_counts()}

    def kiosk():
        fields = client.get("/api/fields").get_json()["fields"]
        return {f["code"]: (f["waiting"], f["estimated_wait_s"]) for f in fields}

    before = board()
    assert before == kiosk() and before["ho-tich"] == (2, 480)
    made = [book(client, iso(8), phone=f"09876543{n:02d}").get_json() for n in range(2)]
    assert board() == kiosk() and board()["ho-tich"] == (2, 480 + 2 * 240)
    assert client.delete(f"/api/bookings/{made[0]['token']}").status_code == 200
    assert board() == kiosk() and board()["ho-tich"] == (2, 480 + 240)

# ----- races ------------------------------------------------------------------------------------------------------
def test_many_concurrent_bookings_of_a_small_slot_take_exactly_its_seats(app):
    """Twenty phones at once for a slot of two seats: exactly two bookings, on SQLite and PostgreSQL."""
    results, barrier = [], threading.Barrier(20)

    def phone(n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.{n}.1"
        barrier.wait(10)
        r = client.post("/api/bookings", json={"field": "dat-dai", "start": iso(10, day=26),
                                               "phone": f"09{n:08d}"})
        results.append((r.status_code, (r.get_json().get("error") or {}).get("code")))

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [(201, None)] * 2 + [(409, "slot_full")] * 18
    slot = next(s for s in app.test_client().get("/api/booking/slots?field=dat-dai&date=2026-11-26").get_json()["slots"]
                if s["start"].endswith("10:00:00+07:00"))
    assert slot["left"] == 0


def test_concurrent_bookings_of_one_phone_never_pass_its_daily_limit(app):
    results, barrier = [], threading.Barrier(8)

    def tap(n):
        client = app.test_client()
        barrier.wait(10)
        r = client.post("/api/bookings", json={"field": "ho-tich", "start": iso(8 + n, day=26), "phone": PHONE})
        results.append(r.status_code)

    threads = [threading.Thread(target=tap, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [201, 201] + [409] * 6


# ----- admin and reports -----------------------------------------------------------------------------------------------
def test_the_admin_lists_a_days_bookings_and_cancels_one_with_a_reason(client, admin, clerk, clock):
    a = book(client, iso(9)).get_json()
    book(client, iso(9, 30), phone="0987654321")
    day = client.get("/api/admin/bookings", headers=admin).get_json()
    assert [b["code"] for b in day["bookings"]] == [a["code"], day["bookings"][1]["code"]]
    assert day["bookings"][0]["phone"] == "0912345678" and "token" not in day["bookings"][0]
    assert client.get("/api/admin/bookings", headers=clerk).status_code == 403
    r = client.post(f"/api/admin/bookings/{a['code']}/cancel", json={"reason": ""}, headers=admin)
    assert r.status_code == 422
    r = client.post(f"/api/admin/bookings/{a['code']}/cancel", json={"reason": "Cán bộ nghỉ ốm"}, headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert client.get(f"/api/bookings/{a['token']}").get_json()["status"] == "cancelled"


def test_a_clerk_checks_a_citizen_in_without_seeing_the_ticket_token(client, clerk, clock):
    code = book(client, iso(8, 30)).get_json()["code"]
    r = client.post("/api/bookings/check-in", json={"code": code}, headers=clerk)
    assert r.status_code == 201 and r.get_json()["code"] == "A001" and "token" not in r.get_json()


def test_reports_count_bookings_and_the_wait_from_the_slots_start(client, admin, clerk, clock):
    served = book(client, iso(8, 30)).get_json()["code"]
    book(client, iso(8, 30), phone="0987654321")  # never comes
    cancelled = book(client, iso(9), phone="0977777777").get_json()["token"]
    client.delete(f"/api/bookings/{cancelled}")
    clock.set_local(2026, 11, 25, 8, 20)
    client.post("/api/bookings/check-in", json={"code": served})
    clock.set_local(2026, 11, 25, 8, 36)
    client.post("/api/counters/1/call-next", headers=clerk)  # called 6 minutes after the slot's start
    clock.set_local(2026, 11, 25, 9, 0)
    report = client.get("/api/reports/summary?from=2026-11-25&to=2026-11-25", headers=admin).get_json()
    totals = report["bookings"]["totals"]
    assert (totals["made"], totals["checked_in"], totals["missed"], totals["cancelled"]) == (3, 1, 1, 1)
    assert totals["wait_from_slot_s"]["mean"] == 360.0
    assert report["bookings"]["by_field"][0]["code"] == "ho-tich"
    from io import BytesIO

    from openpyxl import load_workbook

    book_file = load_workbook(BytesIO(client.get("/api/reports/summary.xlsx?from=2026-11-25&to=2026-11-25",
                                                 headers=admin).data))
    rows = list(book_file["Đặt lịch"].iter_rows(values_only=True))
    total = next(r for r in rows if r[0] == "Tổng cộng")
    assert total[2:6] == (3, 1, 1, 1) and total[7] == 6.0


def test_an_engine_refusal_is_a_queue_error(engine):
    with pytest.raises(QueueError):
        engine.booking_slots("khong-co", dt.date(2026, 11, 26))
