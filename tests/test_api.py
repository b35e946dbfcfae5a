"""The HTTP contract: every endpoint, its shape and its errors, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import time

import pytest

from server.auth import create_pairing

from .conftest import PASSWORD, build


def error_code(response):
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert body["error"]["message"]  # a sentence a person can read
    return body["error"]["code"]


def issue(client, field="ho-tich", **kw):
    r = client.post("/api/tickets", json={"field": field, **kw})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# ----- public reads -------------------------------------------------------------
def test_health(client):
    r = client.get("/api/health")
    # Issue 10: health reports the database too (and the message queue when there is one).
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "database": "ok"}


def test_fields_lists_active_fields_with_waiting_and_estimate(client):
    issue(client)
    fields = client.get("/api/fields").get_json()["fields"]
    first = fields[0]
    assert {"code", "name", "prefix", "waiting", "estimated_wait_s"} <= set(first)
    assert (first["code"], first["name"], first["prefix"], first["waiting"]) == ("ho-tich", "Hộ tịch", "A", 1)


def test_ticket_issue_contract(client):
    r = client.post("/api/tickets", json={"field": "ho-tich", "priority": "elderly"})
    assert r.status_code == 201
    t = r.get_json()
    for key in ("code", "number", "field", "priority", "status", "issued_at", "ahead", "estimated_wait_s",
                "token", "track_url", "printed"):
        assert key in t, key
    assert t["code"] == "A001" and t["number"] == 1 and t["status"] == "waiting" and t["priority"] == "elderly"
    assert t["issued_at"].endswith("+07:00")
    assert t["track_url"].endswith("/t/" + t["token"]) and len(t["token"]) >= 20
    status = client.get(f"/api/tickets/{t['token']}").get_json()
    assert status["code"] == "A001" and status["ahead"] == 0 and status["counter"] is None


def test_retry_with_idempotency_key_returns_the_same_ticket(client):
    headers = {"Idempotency-Key": "kiosk-1-tap-42"}
    a = client.post("/api/tickets", json={"field": "ho-tich"}, headers=headers)
    b = client.post("/api/tickets", json={"field": "ho-tich"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.get_json()["token"] == b.get_json()["token"]
    assert b.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/fields").get_json()["fields"][0]["waiting"] == 1
    other = client.post("/api/tickets", json={"field": "chung-thuc"}, headers=headers)
    assert other.status_code == 409 and error_code(other) == "idempotency_conflict"


@pytest.mark.parametrize("kwargs,status,code", [
    ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
    ({"json": ["ho-tich"]}, 400, "invalid_json"),
    ({"data": "field=ho-tich", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"json": {}}, 422, "invalid_field"),
    ({"json": {"field": 7}}, 422, "invalid_field"),
    ({"json": {"field": "khong-co"}}, 404, "field_not_found"),
    ({"json": {"field": "ho-tich", "priority": "vip"}}, 422, "invalid_priority"),
    ({"json": {"field": "ho-tich", "priority": 1}}, 422, "invalid_priority"),
    ({"json": {"field": "ho-tich", "pad": "x" * 70000}}, 413, "payload_too_large"),
])
def test_bad_ticket_requests_get_a_clear_error_and_issue_nothing(client, kwargs, status, code):
    r = client.post("/api/tickets", **kwargs)
    assert r.status_code == status and error_code(r) == code
    assert issue(client)["code"] == "A001"


def test_unknown_ticket_token_is_404(client):
    r = client.get("/api/tickets/khong-co-phieu-nay")
    assert r.status_code == 404 and error_code(r) == "ticket_not_found"


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/khong-co")
    assert r.status_code == 404 and error_code(r) == "not_found"


def test_citizen_can_cancel_a_waiting_ticket_once(client):
    t = issue(client)
    assert client.post(f"/api/tickets/{t['token']}/cancel").get_json()["status"] == "cancelled"
    r = client.post(f"/api/tickets/{t['token']}/cancel")
    assert r.status_code == 409 and error_code(r) == "ticket_not_waiting"


def test_state_snapshot(client, clerk):
    issue(client)
    client.post("/api/counters/1/call-next", headers=clerk)
    state = client.get("/api/state").get_json()
    assert {"counters", "recent_calls", "fields", "announcements", "office", "version"} <= set(state)
    assert state["counters"][0]["current"]["code"] == "A001"
    assert state["recent_calls"][0] == {"ticket": {"code": "A001", "field": "ho-tich", "priority": None},
                                        "counter": 1, "recall": False, "at": state["recent_calls"][0]["at"]}


# ----- rate limits ----------------------------------------------------------------
def test_ticket_rate_limit_for_unpaired_clients_but_not_paired_kiosks(tmp_path, sqlite_url, clock):
    app = build(tmp_path, sqlite_url, clock, ticket_rate_limit="3/minute")
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/tickets", json={"field": "ho-tich"}).status_code == 201
    r = client.post("/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 429 and error_code(r) == "rate_limited"
    storage = app.extensions["motcua"].storage
    _, code = create_pairing(storage, "kiosk")
    kiosk = app.test_client()
    assert kiosk.post("/api/devices/pair", json={"code": code}).status_code == 200
    for _ in range(5):
        assert kiosk.post("/api/tickets", json={"field": "ho-tich"}).status_code == 201
    storage.dispose()


# ----- auth -------------------------------------------------------------------------
def test_login_gives_token_and_session(app, client):
    from server.auth import create_user

    create_user(app.extensions["motcua"].storage, "canbo2", PASSWORD, "clerk", "Lê Văn Cường")
    r = client.post("/api/auth/login", json={"username": "canbo2", "password": PASSWORD})
    assert r.status_code == 200
    body = r.get_json()
    assert body["user"] == {"id": body["user"]["id"], "username": "canbo2", "name": "Lê Văn Cường", "role": "clerk"}
    assert body["token"] and body["csrf_token"]
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/auth/me").get_json()["user"]["username"] == "canbo2"


@pytest.mark.parametrize("body,status,code", [
    ({"username": "canbo1", "password": "sai-mat-khau"}, 401, "bad_credentials"),
    ({"username": "khong-co", "password": PASSWORD}, 401, "bad_credentials"),
    ({"username": "canbo1"}, 422, "invalid_credentials_format"),
    ({"username": "", "password": ""}, 422, "invalid_credentials_format"),
])
def test_bad_logins(client, clerk, body, status, code):
    r = client.post("/api/auth/login", json=body)
    assert r.status_code == status and error_code(r) == code


def test_repeated_failed_logins_are_locked_out_with_429(client, clerk):
    statuses = [client.post("/api/auth/login", json={"username": "canbo1", "password": "doan-mo"}).status_code
                for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[-1] == 429
    r = client.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD})
    assert r.status_code == 429 and error_code(r) == "rate_limited"


def test_browser_session_needs_csrf_token_for_actions(app, client, clerk):
    issue(client)
    browser = app.test_client()
    login = browser.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}).get_json()
    r = browser.post("/api/counters/1/call-next")
    assert r.status_code == 400 and error_code(r) == "csrf_failed"
    r = browser.post("/api/counters/1/call-next", headers={"X-CSRFToken": login["csrf_token"]})
    assert r.status_code == 200 and r.get_json()["code"] == "A001"


def test_logout_revokes_the_bearer_token(app, clerk):
    client = app.test_client()  # no session cookie: the token alone
    assert client.post("/api/auth/logout", headers=clerk).status_code == 200
    r = client.get("/api/counters/1", headers=clerk)
    assert r.status_code == 401 and error_code(r) == "not_authenticated"


def test_counter_actions_need_a_login(client):
    for path in ("call-next", "recall", "no-show", "finish", "pause", "resume"):
        r = client.post(f"/api/counters/1/{path}")
        assert r.status_code == 401 and error_code(r) == "not_authenticated"
    assert client.get("/api/counters").status_code == 401


def test_reports_are_for_admins_only(app, client, clerk):
    r = client.get("/api/reports/summary", headers=clerk)
    assert r.status_code == 403 and error_code(r) == "forbidden"
    assert app.test_client().get("/api/reports/summary").status_code == 401


# ----- the counter ------------------------------------------------------------------
def test_a_clerks_day_at_counter_1(client, clerk):
    a, b, c = issue(client), issue(client), issue(client, "chung-thuc")
    r = client.post("/api/counters/1/call-next", headers=clerk)
    assert r.status_code == 200 and r.get_json()["code"] == a["code"] and r.get_json()["counter"] == 1
    assert client.post("/api/counters/1/recall", headers=clerk).get_json()["code"] == a["code"]
    assert client.post("/api/counters/1/finish", headers=clerk).get_json()["status"] == "done"
    assert client.post("/api/counters/1/call-next", headers=clerk).get_json()["code"] == b["code"]
    assert client.post("/api/counters/1/no-show", headers=clerk).get_json()["status"] == "no_show"
    r = client.post("/api/counters/1/call", json={"code": b["code"]}, headers=clerk)
    assert r.status_code == 200 and r.get_json()["status"] == "called"
    moved = client.post("/api/counters/1/transfer", json={"field": "dat-dai"}, headers=clerk).get_json()
    assert moved["field"] == "dat-dai" and moved["code"] == b["code"]
    view = client.get("/api/counters/1", headers=clerk).get_json()
    assert view["current"] is None and [w["code"] for w in view["waiting"]] == [c["code"]]
    assert view["served_today"] == 1
    assert client.post("/api/counters/1/pause", headers=clerk).get_json()["state"] == "paused"
    r = client.post("/api/counters/1/call-next", headers=clerk)
    assert r.status_code == 409 and error_code(r) == "counter_paused"
    assert client.post("/api/counters/1/resume", headers=clerk).get_json()["state"] == "open"
    listing = client.get("/api/counters", headers=clerk).get_json()["counters"]
    assert [x["number"] for x in listing] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("method,path,body,status,code", [
    ("post", "/api/counters/1/call-next", None, 404, "queue_empty"),
    ("post", "/api/counters/9/call-next", None, 404, "counter_not_found"),
    ("get", "/api/counters/9", None, 404, "counter_not_found"),
    ("post", "/api/counters/1/recall", None, 409, "no_current_ticket"),
    ("post", "/api/counters/1/no-show", None, 409, "no_current_ticket"),
    ("post", "/api/counters/1/finish", None, 409, "no_current_ticket"),
    ("post", "/api/counters/1/transfer", {"field": "dat-dai"}, 409, "no_current_ticket"),
    ("post", "/api/counters/1/transfer", {}, 422, "invalid_field"),
    ("post", "/api/counters/1/call", {"code": ""}, 422, "invalid_code"),
    ("post", "/api/counters/1/call", {"code": "A" * 40}, 422, "invalid_code"),
    ("post", "/api/counters/1/call", {"code": "A999"}, 404, "ticket_not_found"),
    ("post", "/api/counters/1/call", None, 415, "unsupported_media_type"),
])
def test_counter_errors(client, clerk, method, path, body, status, code):
    kwargs = {"headers": clerk}
    if body is not None:
        kwargs["json"] = body
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status and error_code(r) == code


def test_transfer_to_unknown_field_changes_nothing(client, clerk):
    a = issue(client)
    client.post("/api/counters/1/call-next", headers=clerk)
    r = client.post("/api/counters/1/transfer", json={"field": "khong-co"}, headers=clerk)
    assert r.status_code == 404 and error_code(r) == "field_not_found"
    assert client.get(f"/api/tickets/{a['token']}").get_json()["status"] == "called"


# ----- ratings ------------------------------------------------------------------------
def test_rating_scale_default_three_levels(client):
    scale = client.get("/api/ratings/scale").get_json()
    assert scale["levels"] == [{"score": 3, "name": "Rất hài lòng"}, {"score": 2, "name": "Hài lòng"},
                               {"score": 1, "name": "Không hài lòng"}]
    assert {"code": "harassment", "name": "Gây phiền hà, nhũng nhiễu"} in scale["reasons"]


def test_rating_once_after_service(app, client, clerk):
    phone = app.test_client()  # the citizen's own phone, not the clerk's logged-in browser
    t = issue(client)
    r = phone.post("/api/ratings", json={"token": t["token"], "score": 3})
    assert r.status_code == 409 and error_code(r) == "not_served"
    client.post("/api/counters/1/call-next", headers=clerk)
    client.post("/api/counters/1/finish", headers=clerk)
    r = phone.post("/api/ratings", json={"token": t["token"], "score": 1, "reasons": ["waiting"], "comment": "Lâu"})
    assert r.status_code == 201
    r = phone.post("/api/ratings", json={"token": t["token"], "score": 3})
    assert r.status_code == 409 and error_code(r) == "already_rated"


@pytest.mark.parametrize("body,status,code", [
    ({"score": 3}, 422, "invalid_token"),
    ({"token": "khong-co", "score": 3}, 404, "ticket_not_found"),
    ({"token": "X", "score": 9}, 422, "invalid_score"),
    ({"token": "X", "score": 1, "reasons": ["<script>"]}, 422, "invalid_reasons"),
])
def test_bad_ratings(client, body, status, code):
    r = client.post("/api/ratings", json=body)
    assert r.status_code == status and error_code(r) == code


# ----- devices ----------------------------------------------------------------------------
def test_pairing_code_works_once(app, client):
    _, code = create_pairing(app.extensions["motcua"].storage, "tablet", 2)
    r = client.post("/api/devices/pair", json={"code": code.lower()})
    assert r.status_code == 200 and r.get_json()["device"]["counter"] == 2
    assert "motcua_device=" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert client.get("/api/devices/me").get_json()["device"]["kind"] == "tablet"
    again = app.test_client().post("/api/devices/pair", json={"code": code})
    assert again.status_code == 404 and error_code(again) == "pairing_not_found"


def test_guessing_pairing_codes_is_rate_limited(client):
    statuses = [client.post("/api/devices/pair", json={"code": f"WRONG{i:03d}"}).status_code for i in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429


def test_unpaired_device(client):
    r = client.get("/api/devices/me")
    assert r.status_code == 401 and error_code(r) == "device_not_paired"
    r = client.post("/api/devices/pair", json={})
    assert r.status_code == 422 and error_code(r) == "invalid_code"


# ----- reports ------------------------------------------------------------------------------
def _a_served_day(client, clerk, clock):
    phone = client.application.test_client()  # the citizen rates from the ticket's own page
    a = issue(client)
    issue(client, "chung-thuc")
    clock.advance(minutes=10)
    client.post("/api/counters/1/call-next", headers=clerk)  # A001 waited 10 min
    clock.advance(minutes=4)
    client.post("/api/counters/1/finish", headers=clerk)      # served 4 min
    phone.post("/api/ratings", json={"token": a["token"], "score": 3})
    client.post("/api/counters/2/call-next", headers=clerk)   # B001 waited 14 min
    client.post("/api/counters/2/no-show", headers=clerk)


def test_report_summary_numbers(client, clerk, admin, clock):
    _a_served_day(client, clerk, clock)
    r = client.get("/api/reports/summary?from=2026-11-25&to=2026-11-25", headers=admin)
    assert r.status_code == 200
    report = r.get_json()
    totals = report["totals"]
    assert (totals["issued"], totals["served"], totals["no_show"]) == (2, 1, 1)
    assert totals["waiting_time_s"] == {"mean": 720.0, "median": 720.0, "p90": 816.0}
    assert totals["service_time_s"]["mean"] == 240.0
    assert totals["ratings"] == {"count": 1, "by_level": {"3": 1, "2": 0, "1": 0}, "mean": 3, "satisfied_share": 1.0}
    by_field = {f["code"]: f for f in report["by_field"]}
    assert by_field["ho-tich"]["served"] == 1 and by_field["chung-thuc"]["no_show"] == 1
    assert [c["number"] for c in report["by_counter"]] == [1, 2]
    assert report["by_clerk"][0]["username"] == "canbo1" and report["by_clerk"][0]["served"] == 1
    assert report["by_hour"] == [{"hour": 8, "issued": 2}]


def test_report_exports(client, clerk, admin, clock):
    _a_served_day(client, clerk, clock)
    csv_text = client.get("/api/reports/summary.csv?from=2026-11-25&to=2026-11-25", headers=admin)
    assert csv_text.status_code == 200 and csv_text.mimetype == "text/csv"
    lines = csv_text.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Nhóm,Mã,Tên,Số phiếu cấp")
    assert lines[1].startswith("Tổng,all,Toàn cơ quan,2,1,1,720.0")
    xlsx = client.get("/api/reports/summary.xlsx?from=2026-11-25&to=2026-11-25", headers=admin)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx.get_data()))
    rows = list(book["Tổng hợp"].iter_rows(values_only=True))
    # Issue 7 asks for a sheet per table and a total row that reads "Tổng cộng" (not "all").
    assert rows[2][:2] == ("Số phiếu đã cấp", 2)
    fields = list(book["Theo lĩnh vực"].iter_rows(values_only=True))
    assert next(r for r in fields if r[0] == "Tổng cộng")[2:5] == (2, 1, 1)


@pytest.mark.parametrize("query,code", [("from=25-11-2026", "invalid_date"),
                                        ("from=2026-11-25&to=2026-11-01", "invalid_period"),
                                        ("from=2020-01-01&to=2026-01-01", "invalid_period")])
def test_report_bad_periods(client, admin, query, code):
    r = client.get(f"/api/reports/summary?{query}", headers=admin)
    assert r.status_code == 422 and error_code(r) == code


# ----- pages and headers ------------------------------------------------------------------------
def test_every_page_sends_a_strict_content_security_policy(client):
    for path in ("/", "/kiosk/", "/display/", "/api/health"):
        r = client.get(path, follow_redirects=True)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_ticket_qr_is_an_svg_of_its_page(client):
    t = issue(client)
    r = client.get(f"/qr/{t['token']}.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml" and b"<svg" in r.data
    assert client.get("/qr/khong-co.svg").status_code == 404


def test_openapi_describes_every_api_route(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} is not in openapi.json"


def test_a_retried_issue_prints_once(app, client):
    from sqlalchemy import func, select

    from server.models import PrintJob

    headers = {"Idempotency-Key": "kiosk-2-tap-9"}
    first = client.post("/api/tickets", json={"field": "ho-tich"}, headers=headers).get_json()
    # Issue 8: the answer no longer waits for the paper; the print is queued, then done.
    assert first["print_status"] == "queued" and not first["printed"]
    printing = app.extensions["motcua"].printing
    deadline = time.monotonic() + 15
    while not printing.status_for(first["token"])["printed"] and time.monotonic() < deadline:
        time.sleep(0.05)
    again = client.post("/api/tickets", json={"field": "ho-tich"}, headers=headers).get_json()
    assert again["printed"] and first["token"] == again["token"]
    with app.extensions["motcua"].storage.read() as s:
        assert s.scalar(select(func.count(PrintJob.id))) == 1


def test_a_clerk_cannot_rate_their_own_service(app, client, clerk):
    t = issue(client)
    client.post("/api/counters/1/call-next", headers=clerk)
    client.post("/api/counters/1/finish", headers=clerk)
    by_token = app.test_client().post("/api/ratings", json={"token": t["token"], "score": 3}, headers=clerk)
    assert by_token.status_code == 403 and error_code(by_token) == "staff_cannot_rate"
    by_session = client.post("/api/ratings", json={"token": t["token"], "score": 3})  # the clerk's browser
    assert by_session.status_code == 403 and error_code(by_session) == "staff_cannot_rate"
    # the citizen's own rating still counts, and says where it came from
    r = app.test_client().post("/api/ratings", json={"token": t["token"], "score": 2})
    assert r.status_code == 201 and r.get_json()["source"] == "phone"


def test_a_tablet_rates_only_what_its_counter_served(app, client, clerk):
    storage = app.extensions["motcua"].storage
    tablets = {}
    for counter in (1, 2):
        _, code = create_pairing(storage, "tablet", counter)
        tablet = app.test_client()
        assert tablet.post("/api/devices/pair", json={"code": code}).status_code == 200
        tablets[counter] = tablet
    t = issue(client)
    client.post("/api/counters/1/call-next", headers=clerk)
    client.post("/api/counters/1/finish", headers=clerk)
    r = tablets[2].post("/api/ratings", json={"token": t["token"], "score": 1})
    assert r.status_code == 409 and error_code(r) == "wrong_counter"
    r = tablets[1].post("/api/ratings", json={"token": t["token"], "score": 3})
    assert r.status_code == 201 and r.get_json()["source"] == "tablet"


def test_no_staff_answer_carries_the_ticket_token(client, clerk):
    """With a ticket's token a clerk could rate their own service (issue 12)."""
    t = issue(client)
    issue(client, "ho-tich")
    answers = [client.post("/api/counters/1/call-next", headers=clerk),
               client.get("/api/counters/1", headers=clerk),
               client.get("/api/counters", headers=clerk),
               client.post("/api/counters/1/recall", headers=clerk),
               client.post("/api/counters/1/transfer", json={"field": "chung-thuc"}, headers=clerk),
               client.post("/api/counters/2/call", json={"code": t["code"]}, headers=clerk),
               client.post("/api/counters/2/finish", headers=clerk),
               client.post("/api/counters/1/call-next", headers=clerk),
               client.post("/api/counters/1/no-show", headers=clerk)]
    for r in answers:
        assert r.status_code == 200, r.get_json()
        assert t["token"] not in r.get_data(as_text=True) and '"token"' not in r.get_data(as_text=True)


def test_an_idempotency_key_belongs_to_the_client_that_sent_it(app, client):
    """Issue 12: another address replaying a kiosk's key gets its own ticket, never the kiosk's token."""
    kiosk, stranger = app.test_client(), app.test_client()
    kiosk.environ_base["REMOTE_ADDR"] = "192.168.1.11"
    stranger.environ_base["REMOTE_ADDR"] = "192.168.1.66"
    headers = {"Idempotency-Key": "kiosk-1-tap-42"}
    mine = kiosk.post("/api/tickets", json={"field": "ho-tich"}, headers=headers)
    theirs = stranger.post("/api/tickets", json={"field": "ho-tich"}, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["token"] != mine.get_json()["token"] and theirs.get_json()["code"] == "A002"
    again = kiosk.post("/api/tickets", json={"field": "ho-tich"}, headers=headers)
    assert again.get_json()["token"] == mine.get_json()["token"]  # the kiosk's own retry still replays


def test_deeply_nested_json_is_a_clear_400(client, clerk):
    body = "[" * 30000 + "]" * 30000
    for path, headers in (("/api/tickets", {}), ("/api/auth/login", {}), ("/api/counters/1/call", clerk)):
        r = client.post(path, data=body, content_type="application/json", headers=headers)
        assert r.status_code == 400 and error_code(r) == "invalid_json", path
    assert client.get("/api/fields").get_json()["fields"][0]["waiting"] == 0


def test_cookies_are_secure_and_hsts_is_sent_behind_https(tmp_path, database_url, clock):
    app = build(tmp_path, database_url, clock, proxy_hops=1)
    try:
        from server.auth import create_user

        create_user(app.extensions["motcua"].storage, "canbo1", PASSWORD, "clerk")
        client = app.test_client()
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.168.1.20"}
        r = client.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}, headers=https)
        assert r.status_code == 200
        cookies = r.headers.getlist("Set-Cookie")
        session_cookie = next(c for c in cookies if c.startswith("motcua_session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        plain = client.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD})
        assert "Secure" not in next(c for c in plain.headers.getlist("Set-Cookie") if c.startswith("motcua_session="))
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        app.extensions["motcua"].storage.dispose()


def _paired_kiosk(app):
    _, code = create_pairing(app.extensions["motcua"].storage, "kiosk")
    kiosk = app.test_client()
    kiosk.environ_base["REMOTE_ADDR"] = "192.168.1.11"
    assert kiosk.post("/api/devices/pair", json={"code": code}).status_code == 200
    return kiosk


def test_kiosks_only_keeps_any_lan_client_from_using_up_a_cap(tmp_path, database_url, clock):
    """Issue 12: with TICKET_ISSUERS=kiosks only paired kiosks issue; a stranger cannot exhaust a cap."""
    app = build(tmp_path, database_url, clock, ticket_issuers="kiosks")
    try:
        stranger = app.test_client()
        stranger.environ_base["REMOTE_ADDR"] = "192.168.1.66"
        for _ in range(3):
            r = stranger.post("/api/tickets", json={"field": "dat-dai"})
            assert r.status_code == 403 and error_code(r) == "kiosk_required"
        kiosk = _paired_kiosk(app)
        r = kiosk.post("/api/tickets", json={"field": "dat-dai"})
        assert r.status_code == 201 and r.get_json()["code"] == "C001"
    finally:
        app.extensions["motcua"].storage.dispose()


def test_the_admin_sees_and_cancels_tickets_taken_outside_the_kiosks(app, client, admin):
    kiosk = _paired_kiosk(app)
    at_kiosk = kiosk.post("/api/tickets", json={"field": "ho-tich"}).get_json()
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "192.168.1.66"
    taken = [stranger.post("/api/tickets", json={"field": "ho-tich"}).get_json() for _ in range(2)]
    listed = client.get("/api/admin/tickets/outside-kiosks", headers=admin).get_json()["tickets"]
    assert [t["code"] for t in listed] == [taken[1]["code"], taken[0]["code"]]
    assert {t["issued_from"] for t in listed} == {"192.168.1.66"} and at_kiosk["code"] not in str(listed)
    assert "token" not in listed[0]
    r = client.post(f"/api/admin/tickets/{taken[0]['code']}/cancel", headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled" and "token" not in r.get_json()
    assert client.get(f"/api/tickets/{taken[0]['token']}").get_json()["status"] == "cancelled"
    again = client.post(f"/api/admin/tickets/{taken[0]['code']}/cancel", headers=admin)
    assert again.status_code == 409 and error_code(again) == "ticket_not_waiting"
    assert client.post("/api/admin/tickets/Z999/cancel", headers=admin).status_code == 404
    assert app.test_client().get("/api/admin/tickets/outside-kiosks").status_code == 401
