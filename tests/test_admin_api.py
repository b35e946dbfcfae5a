"""The admin's API: office, fields, counters, users, devices, announcements — each rule and each refusal."""
from __future__ import annotations

import pytest

from server.engine import Change

from .conftest import PASSWORD


@pytest.fixture
def config_changes(engine):
    """What the engine told the boards and kiosks to resync for."""
    seen: list[str] = []

    def listen(changes: list[Change]) -> None:
        seen.extend(c.data["what"] for c in changes if c.kind == "config_changed")

    engine.listeners.append(listen)
    return seen


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


# ----- who may ask ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/admin/office", "/api/admin/fields", "/api/admin/counters",
                                  "/api/admin/users", "/api/admin/devices", "/api/admin/announcements",
                                  "/api/admin/overview"])
def test_admin_endpoints_refuse_anonymous_and_clerks(app, client, clerk, path):
    assert app.test_client().get(path).status_code == 401
    response = client.get(path, headers=clerk)
    assert response.status_code == 403
    assert error_code(response) == "forbidden"


def test_a_clerk_cannot_add_a_field(client, clerk):
    r = client.post("/api/admin/fields", json={"name": "Tư pháp", "prefix": "T"}, headers=clerk)
    assert r.status_code == 403


def test_a_browser_session_needs_the_csrf_token_for_changes(client, admin):
    # the `admin` fixture's login also set the session cookie on this client
    r = client.patch("/api/admin/office", json={"name": "UBND phường Bến Thành"})
    assert r.status_code == 400 and error_code(r) == "csrf_failed"
    token = client.get("/api/auth/me").get_json()["csrf_token"]
    r = client.patch("/api/admin/office", json={"name": "UBND phường Bến Thành"}, headers={"X-CSRFToken": token})
    assert r.status_code == 200


# ----- office -----------------------------------------------------------------------
def test_admin_renames_the_office_and_boards_resync(client, admin, engine, config_changes):
    r = client.patch("/api/admin/office", json={"name": "UBND phường Bến Thành", "unit": "Trung tâm Phục vụ hành chính công"},
                     headers=admin)
    assert r.status_code == 200
    assert r.get_json()["name"] == "UBND phường Bến Thành"
    assert engine.state()["office"] == {"name": "UBND phường Bến Thành", "unit": "Trung tâm Phục vụ hành chính công"}
    assert config_changes == ["office"]


def test_rating_scale_and_reasons(client, admin, engine):
    r = client.patch("/api/admin/office", json={"rating_scale": 5, "rating_reasons": [
        "Thái độ chưa tốt", {"code": "cho-lau", "name": "Chờ lâu"}]}, headers=admin)
    assert r.status_code == 200
    scale = engine.rating_scale()
    assert scale["scale"] == 5 and len(scale["levels"]) == 5
    assert scale["reasons"] == [{"code": "thai-do-chua-tot", "name": "Thái độ chưa tốt"},
                                {"code": "cho-lau", "name": "Chờ lâu"}]


@pytest.mark.parametrize("body,code", [
    ({"name": ""}, "invalid_name"),
    ({"name": "x" * 201}, "invalid_name"),
    ({"rating_scale": 4}, "invalid_rating_scale"),
    ({"rating_scale": True}, "invalid_rating_scale"),
    ({"rating_reasons": []}, "invalid_rating_reasons"),
    ({"rating_reasons": ["Chờ lâu", "Chờ lâu"]}, "invalid_rating_reasons"),
])
def test_office_refuses_bad_values(client, admin, engine, body, code):
    before = client.get("/api/admin/office", headers=admin).get_json()
    r = client.patch("/api/admin/office", json=body, headers=admin)
    assert r.status_code == 422 and error_code(r) == code
    assert client.get("/api/admin/office", headers=admin).get_json() == before


def test_a_body_that_is_not_json_is_refused(client, admin):
    r = client.patch("/api/admin/office", data="name=x", headers=admin)
    assert r.status_code == 415
    r = client.patch("/api/admin/office", data="[1]", content_type="application/json", headers=admin)
    assert r.status_code == 400 and error_code(r) == "invalid_json"


# ----- fields -----------------------------------------------------------------------
NEW_FIELD = {"name": "Tư pháp – Hộ tịch có yếu tố nước ngoài", "prefix": "TP", "hint": "Kết hôn với người nước ngoài",
             "hours": ["13:00-16:30", "07:30-11:30"], "daily_cap": 40, "minutes": 20, "icon": "passport"}


def test_admin_adds_a_field_and_the_kiosk_offers_it(client, admin, config_changes):
    r = client.post("/api/admin/fields", json=NEW_FIELD, headers=admin)
    assert r.status_code == 201, r.get_json()
    field = r.get_json()
    assert field["code"] == "tu-phap-ho-tich-co-yeu-to-nuoc-ngoai"
    assert field["hours"] == ["07:30-11:30", "13:00-16:30"]
    kiosk = client.get("/api/fields").get_json()["fields"]
    assert [f["name"] for f in kiosk][-1] == NEW_FIELD["name"]
    assert config_changes == ["fields"]
    ticket = client.post("/api/tickets", json={"field": field["code"]}).get_json()
    assert ticket["code"] == "TP001"


def test_field_list_includes_disabled_fields(client, admin):
    client.post("/api/admin/fields/chung-thuc/disable", headers=admin)
    fields = {f["code"]: f for f in client.get("/api/admin/fields", headers=admin).get_json()["fields"]}
    assert fields["chung-thuc"]["active"] is False
    assert "chung-thuc" not in [f["code"] for f in client.get("/api/fields").get_json()["fields"]]
    client.post("/api/admin/fields/chung-thuc/enable", headers=admin)
    assert "chung-thuc" in [f["code"] for f in client.get("/api/fields").get_json()["fields"]]


def test_a_disabled_field_issues_nothing(client, admin):
    client.post("/api/admin/fields/ho-tich/disable", headers=admin)
    r = client.post("/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 404 and error_code(r) == "field_not_found"


def test_edit_a_field(client, admin, engine, clock):
    r = client.patch("/api/admin/fields/ho-tich", json={"name": "Hộ tịch (khai sinh, kết hôn)", "prefix": "HT",
                                                        "daily_cap": 1, "minutes": None}, headers=admin)
    assert r.status_code == 200
    assert r.get_json()["prefix"] == "HT" and r.get_json()["minutes"] is None
    assert client.post("/api/tickets", json={"field": "ho-tich"}).get_json()["code"] == "HT001"
    r = client.post("/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 409 and error_code(r) == "daily_cap_reached"


def test_issuing_hours_set_by_the_admin_apply_at_once(client, admin):
    # the test clock stands at 08:00
    client.patch("/api/admin/fields/ho-tich", json={"hours": ["13:00-16:30"]}, headers=admin)
    r = client.post("/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 409 and error_code(r) == "outside_hours"


def test_hours_written_the_vietnamese_way_are_understood(client, admin):
    r = client.patch("/api/admin/fields/ho-tich", json={"hours": ["7h30-11h30", "13h - 16h30"]}, headers=admin)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["hours"] == ["07:30-11:30", "13:00-16:30"]
    # the test clock stands at 08:00: inside the first span
    assert client.post("/api/tickets", json={"field": "ho-tich"}).status_code == 201


@pytest.mark.parametrize("body,status,code", [
    ({"prefix": "a"}, 422, "invalid_prefix"),
    ({"prefix": "ABC"}, 422, "invalid_prefix"),
    ({"prefix": "Đ"}, 422, "invalid_prefix"),
    ({"prefix": "B"}, 409, "prefix_taken"),
    ({"name": "  "}, 422, "invalid_name"),
    ({"hours": ["sáng"]}, 422, "invalid_hours"),
    ({"hours": ["11:30-07:00"]}, 422, "invalid_hours"),
    ({"hours": "07:00-11:30"}, 422, "invalid_hours"),
    ({"daily_cap": 0}, 422, "invalid_daily_cap"),
    ({"daily_cap": "50"}, 422, "invalid_daily_cap"),
    ({"minutes": 601}, 422, "invalid_minutes"),
    ({"icon": "<svg>"}, 422, "invalid_icon"),
    ({"active": "no"}, 422, "invalid_active"),
])
def test_field_edits_that_break_a_rule_change_nothing(client, admin, body, status, code):
    before = client.get("/api/admin/fields", headers=admin).get_json()
    r = client.patch("/api/admin/fields/ho-tich", json=body, headers=admin)
    assert r.status_code == status and error_code(r) == code
    assert "message" in r.get_json()["error"]
    assert client.get("/api/admin/fields", headers=admin).get_json() == before


@pytest.mark.parametrize("body,status,code", [
    ({"prefix": "T"}, 422, "invalid_name"),
    ({"name": "Tư pháp"}, 422, "invalid_prefix"),
    ({"name": "Tư pháp", "prefix": "A"}, 409, "prefix_taken"),
    ({"name": "Hộ tịch", "prefix": "T"}, 409, "field_code_taken"),
    ({"name": "Tư pháp", "prefix": "T", "code": "Tư pháp"}, 422, "invalid_code"),
    ({"name": "!!!", "prefix": "T"}, 422, "invalid_code"),
])
def test_adding_a_bad_field_is_refused(client, admin, body, status, code):
    r = client.post("/api/admin/fields", json=body, headers=admin)
    assert r.status_code == status and error_code(r) == code


def test_unknown_field_is_404(client, admin):
    assert error_code(client.patch("/api/admin/fields/khong-co", json={"name": "x"}, headers=admin)) == "field_not_found"
    assert client.post("/api/admin/fields/khong-co/disable", headers=admin).status_code == 404


def test_a_field_with_tickets_is_never_deleted(client, admin):
    client.post("/api/tickets", json={"field": "ho-tich"})
    r = client.delete("/api/admin/fields/ho-tich", headers=admin)
    assert r.status_code == 409 and error_code(r) == "field_has_tickets"
    assert "ho-tich" in [f["code"] for f in client.get("/api/admin/fields", headers=admin).get_json()["fields"]]


def test_a_field_without_tickets_may_be_deleted_and_leaves_its_counters(client, admin):
    r = client.delete("/api/admin/fields/chung-thuc", headers=admin)
    assert r.status_code == 200
    assert "chung-thuc" not in [f["code"] for f in client.get("/api/admin/fields", headers=admin).get_json()["fields"]]
    for counter in client.get("/api/admin/counters", headers=admin).get_json()["counters"]:
        assert "chung-thuc" not in counter["fields"]


def test_reorder_fields(client, admin):
    codes = [f["code"] for f in client.get("/api/admin/fields", headers=admin).get_json()["fields"]]
    r = client.put("/api/admin/fields/order", json={"codes": codes[::-1]}, headers=admin)
    assert r.status_code == 200
    assert [f["code"] for f in client.get("/api/fields").get_json()["fields"]] == codes[::-1]
    r = client.put("/api/admin/fields/order", json={"codes": codes[:2]}, headers=admin)
    assert r.status_code == 422 and error_code(r) == "invalid_order"


# ----- counters ---------------------------------------------------------------------
def test_admin_adds_a_counter_that_clerks_can_work(client, admin, clerk, config_changes):
    r = client.post("/api/admin/counters", json={"number": 9, "name": "Quầy 9 – Đất đai",
                                                 "fields": ["dat-dai", "ho-tich"]}, headers=admin)
    assert r.status_code == 201
    assert r.get_json()["fields"] == ["dat-dai", "ho-tich"]
    assert config_changes == ["counters"]
    view = client.get("/api/counters/9", headers=clerk).get_json()
    assert [f["code"] for f in view["fields"]] == ["dat-dai", "ho-tich"]


def test_edit_the_fields_a_counter_serves_in_order(client, admin, clerk):
    number = client.get("/api/admin/counters", headers=admin).get_json()["counters"][0]["number"]
    r = client.patch(f"/api/admin/counters/{number}", json={"name": "Quầy tiếp nhận", "fields": ["chung-thuc", "ho-tich"]},
                     headers=admin)
    assert r.status_code == 200
    view = client.get(f"/api/counters/{number}", headers=clerk).get_json()
    assert view["name"] == "Quầy tiếp nhận"
    assert [f["code"] for f in view["fields"]] == ["chung-thuc", "ho-tich"]
    client.patch(f"/api/admin/counters/{number}", json={"fields": ["ho-tich"]}, headers=admin)
    view = client.get(f"/api/counters/{number}", headers=clerk).get_json()
    assert [f["code"] for f in view["fields"]] == ["ho-tich"]


@pytest.mark.parametrize("body,status,code", [
    ({"number": 1}, 409, "counter_number_taken"),
    ({"number": 0}, 422, "invalid_number"),
    ({"number": "10"}, 422, "invalid_number"),
    ({"number": 10, "fields": ["khong-co"]}, 422, "unknown_field"),
    ({"number": 10, "fields": ["ho-tich", "ho-tich"]}, 422, "invalid_fields"),
    ({"number": 10, "name": ""}, 422, "invalid_name"),
])
def test_adding_a_bad_counter_is_refused(client, admin, body, status, code):
    r = client.post("/api/admin/counters", json=body, headers=admin)
    assert r.status_code == status and error_code(r) == code
    assert 10 not in [c["number"] for c in client.get("/api/admin/counters", headers=admin).get_json()["counters"]]


def test_a_counter_serving_someone_cannot_be_disabled(client, admin, clerk):
    client.post("/api/tickets", json={"field": "ho-tich"})
    number = next(c["number"] for c in client.get("/api/admin/counters", headers=admin).get_json()["counters"]
                  if "ho-tich" in c["fields"])
    client.post(f"/api/counters/{number}/call-next", headers=clerk)
    r = client.post(f"/api/admin/counters/{number}/disable", headers=admin)
    assert r.status_code == 409 and error_code(r) == "counter_busy"
    client.post(f"/api/counters/{number}/finish", headers=clerk)
    assert client.post(f"/api/admin/counters/{number}/disable", headers=admin).status_code == 200
    assert client.get(f"/api/counters/{number}", headers=clerk).status_code == 404
    assert number not in [c["number"] for c in client.get("/api/state").get_json()["counters"]]
    assert client.post(f"/api/admin/counters/{number}/enable", headers=admin).status_code == 200
    assert client.get(f"/api/counters/{number}", headers=clerk).status_code == 200


def test_unknown_counter_is_404(client, admin):
    r = client.patch("/api/admin/counters/99", json={"name": "x"}, headers=admin)
    assert r.status_code == 404 and error_code(r) == "counter_not_found"


# ----- users ------------------------------------------------------------------------
def test_admin_adds_a_clerk_who_can_log_in(client, admin):
    r = client.post("/api/admin/users", json={"username": "canbo2", "name": "Lê Thị Cúc", "role": "clerk",
                                              "password": "mot-mat-khau-dai"}, headers=admin)
    assert r.status_code == 201
    assert r.get_json()["role"] == "clerk" and "password" not in str(r.get_json())
    login = client.post("/api/auth/login", json={"username": "canbo2", "password": "mot-mat-khau-dai"})
    assert login.status_code == 200 and login.get_json()["user"]["name"] == "Lê Thị Cúc"
    assert "canbo2" in [u["username"] for u in client.get("/api/admin/users", headers=admin).get_json()["users"]]


@pytest.mark.parametrize("body,status,code", [
    ({"username": "canbo3", "password": "ngan"}, 422, "weak_password"),
    ({"username": "can bo", "password": "mot-mat-khau-dai"}, 422, "invalid_username"),
    ({"username": "quantri", "password": "mot-mat-khau-dai"}, 409, "username_taken"),
    ({"username": "canbo3", "password": "mot-mat-khau-dai", "role": "root"}, 422, "invalid_role"),
    ({"username": "canbo3"}, 422, "invalid_user"),
])
def test_adding_a_bad_user_is_refused(client, admin, body, status, code):
    r = client.post("/api/admin/users", json=body, headers=admin)
    assert r.status_code == status and error_code(r) == code


def test_reset_a_password(client, admin, clerk):
    uid = next(u["id"] for u in client.get("/api/admin/users", headers=admin).get_json()["users"]
               if u["username"] == "canbo1")
    r = client.post(f"/api/admin/users/{uid}/password", json={"password": "ngan"}, headers=admin)
    assert r.status_code == 422 and error_code(r) == "weak_password"
    r = client.post(f"/api/admin/users/{uid}/password", json={"password": "mat-khau-moi-12345"}, headers=admin)
    assert r.status_code == 200
    assert client.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}).status_code == 401
    assert client.post("/api/auth/login", json={"username": "canbo1", "password": "mat-khau-moi-12345"}).status_code == 200
    # the old bearer token died with the old password
    assert client.get("/api/counters", headers=clerk).status_code == 401
    assert client.post("/api/admin/users/9999/password", json={"password": "mat-khau-moi-12345"},
                       headers=admin).status_code == 404


def test_a_disabled_clerk_is_locked_out_at_once(client, admin, clerk):
    uid = next(u["id"] for u in client.get("/api/admin/users", headers=admin).get_json()["users"]
               if u["username"] == "canbo1")
    assert client.post(f"/api/admin/users/{uid}/disable", headers=admin).get_json()["active"] is False
    assert client.get("/api/counters", headers=clerk).status_code == 401
    assert client.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD}).status_code == 401
    client.post(f"/api/admin/users/{uid}/enable", headers=admin)
    # Enabled again, the clerk logs in anew: the token from before the lock stays dead (issue 12).
    assert client.get("/api/counters", headers=clerk).status_code == 401
    again = client.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD})
    assert client.get("/api/counters", headers={"Authorization": f"Bearer {again.get_json()['token']}"}).status_code == 200


def test_an_admin_cannot_disable_themself(client, admin):
    me = client.get("/api/auth/me", headers=admin).get_json()["user"]["id"]
    r = client.post(f"/api/admin/users/{me}/disable", headers=admin)
    assert r.status_code == 409 and error_code(r) == "cannot_disable_self"


def test_the_last_admin_cannot_be_disabled(client, admin, app):
    from server.auth import create_user

    other = create_user(app.extensions["motcua"].storage, "quantri2", PASSWORD, "admin")
    me = client.get("/api/auth/me", headers=admin).get_json()["user"]["id"]
    assert client.post(f"/api/admin/users/{other.id}/disable", headers=admin).status_code == 200
    client.post(f"/api/admin/users/{other.id}/enable", headers=admin)
    # (disabling ended quantri2's access: it logs in after being enabled again)
    headers = {"Authorization": "Bearer " + client.post(
        "/api/auth/login", json={"username": "quantri2", "password": PASSWORD}).get_json()["token"]}
    assert client.post(f"/api/admin/users/{me}/disable", headers=headers).status_code == 200
    # now quantri2 is the only active admin; nobody else can lock it out
    r = client.patch(f"/api/admin/users/{other.id}", json={"active": False}, headers=headers)
    assert error_code(r) == "cannot_disable_self"


# ----- devices ------------------------------------------------------------------------
def test_pair_a_tablet_with_a_code_url_and_qr(client, admin):
    r = client.post("/api/admin/devices", json={"kind": "tablet", "counter": 1, "name": "Máy đánh giá quầy 1"},
                    headers=admin)
    assert r.status_code == 201
    body = r.get_json()
    assert body["url"].endswith(f"/rating?pair={body['code']}")
    assert body["device"]["status"] == "waiting" and body["device"]["counter"] == 1
    qr = client.get(body["qr_url"], headers=admin)
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    # the device uses the code once
    paired = client.post("/api/devices/pair", json={"code": body["code"]})
    assert paired.status_code == 200
    devices = client.get("/api/admin/devices", headers=admin).get_json()["devices"]
    assert devices[0]["status"] == "paired" and devices[0]["kind"] == "tablet"


def test_the_pairing_qr_is_for_admins_only(client, clerk):
    assert client.get("/api/admin/qr.svg?text=x", headers=clerk).status_code == 403


@pytest.mark.parametrize("body,code", [
    ({"kind": "printer"}, "invalid_kind"),
    ({"kind": "tablet"}, "invalid_pairing"),
    ({"kind": "tablet", "counter": 99}, "invalid_pairing"),
    ({"kind": "kiosk", "counter": "1"}, "invalid_counter"),
])
def test_bad_pairings_are_refused(client, admin, body, code):
    r = client.post("/api/admin/devices", json=body, headers=admin)
    assert r.status_code == 422 and error_code(r) == code


def test_revoking_a_device_ends_its_access(client, admin):
    body = client.post("/api/admin/devices", json={"kind": "kiosk"}, headers=admin).get_json()
    token = client.post("/api/devices/pair", json={"code": body["code"]}).get_json()["token"]
    assert client.get("/api/devices/me", headers={"X-Device-Token": token}).status_code == 200
    r = client.post(f"/api/admin/devices/{body['device']['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "revoked"
    assert client.get("/api/devices/me", headers={"X-Device-Token": token}).status_code == 401
    again = client.post(f"/api/admin/devices/{body['device']['id']}/revoke", headers=admin)
    assert again.status_code == 409 and error_code(again) == "already_revoked"
    assert client.post("/api/admin/devices/9999/revoke", headers=admin).status_code == 404


def test_a_revoked_pairing_code_no_longer_pairs(client, admin):
    body = client.post("/api/admin/devices", json={"kind": "display"}, headers=admin).get_json()
    client.post(f"/api/admin/devices/{body['device']['id']}/revoke", headers=admin)
    assert client.post("/api/devices/pair", json={"code": body["code"]}).status_code == 404


# ----- announcements -----------------------------------------------------------------
def test_announcements_reach_the_board_in_order(client, admin, config_changes):
    a = client.post("/api/admin/announcements", json={"text": "Giờ làm việc: 7:30–11:30, 13:30–17:00"}, headers=admin)
    b = client.post("/api/admin/announcements", json={"text": "<b>Nộp hồ sơ trực tuyến</b> tại dichvucong.gov.vn"},
                    headers=admin)
    assert a.status_code == b.status_code == 201
    board = client.get("/api/state").get_json()["announcements"]
    assert [x["text"] for x in board] == ["Giờ làm việc: 7:30–11:30, 13:30–17:00",
                                          "<b>Nộp hồ sơ trực tuyến</b> tại dichvucong.gov.vn"]
    ids = [a.get_json()["id"], b.get_json()["id"]]
    assert client.put("/api/admin/announcements/order", json={"ids": ids[::-1]}, headers=admin).status_code == 200
    assert [x["id"] for x in client.get("/api/state").get_json()["announcements"]] == ids[::-1]
    r = client.patch(f"/api/admin/announcements/{ids[0]}", json={"active": False}, headers=admin)
    assert r.get_json()["active"] is False
    assert [x["id"] for x in client.get("/api/state").get_json()["announcements"]] == [ids[1]]
    assert len(client.get("/api/admin/announcements", headers=admin).get_json()["announcements"]) == 2
    client.patch(f"/api/admin/announcements/{ids[1]}", json={"text": "Nộp hồ sơ trực tuyến"}, headers=admin)
    assert client.get("/api/state").get_json()["announcements"][0]["text"] == "Nộp hồ sơ trực tuyến"
    assert config_changes == ["announcements"] * 5


@pytest.mark.parametrize("body,code", [({}, "invalid_text"), ({"text": " "}, "invalid_text"),
                                       ({"text": "x" * 501}, "invalid_text"), ({"text": 5}, "invalid_text")])
def test_bad_announcements_are_refused(client, admin, body, code):
    r = client.post("/api/admin/announcements", json=body, headers=admin)
    assert r.status_code == 422 and error_code(r) == code


def test_announcement_order_and_unknown_ids(client, admin):
    client.post("/api/admin/announcements", json={"text": "Một"}, headers=admin)
    r = client.put("/api/admin/announcements/order", json={"ids": [12345]}, headers=admin)
    assert r.status_code == 422 and error_code(r) == "invalid_order"
    r = client.patch("/api/admin/announcements/12345", json={"text": "x"}, headers=admin)
    assert r.status_code == 404 and error_code(r) == "announcement_not_found"


# ----- dashboard ------------------------------------------------------------------------
def test_overview_shows_counters_queues_and_print_failures(client, admin):
    client.post("/api/tickets", json={"field": "ho-tich"})
    body = client.get("/api/admin/overview", headers=admin).get_json()
    assert {"counters", "fields", "print_failures", "printing"} <= set(body)
    assert next(f for f in body["fields"] if f["code"] == "ho-tich")["waiting"] == 1


def test_the_dashboard_lists_todays_print_failures_and_the_list_keeps_the_rest(client, admin, app, engine, clock):
    """A failure of yesterday's ticket needs nobody today: it leaves the dashboard, not the record."""
    from server.printing import first_print_job_id

    spool = app.extensions["motcua"].printing
    yesterday = engine.issue_ticket("ho-tich")  # its first job is written with the ticket
    spool._failed(first_print_job_id(yesterday["token"]), "Máy in hết giấy", retryable=False)
    failures = client.get("/api/admin/overview", headers=admin).get_json()["print_failures"]
    assert [(j["ticket_code"], j["last_error"]) for j in failures] == [("A001", "Máy in hết giấy")]
    clock.advance(days=1)
    assert client.get("/api/admin/overview", headers=admin).get_json()["print_failures"] == []
    today = engine.issue_ticket("ho-tich")
    spool._failed(first_print_job_id(today["token"]), "Máy in mở nắp", retryable=False)
    failures = client.get("/api/admin/overview", headers=admin).get_json()["print_failures"]
    assert [(j["ticket_code"], j["last_error"]) for j in failures] == [("A001", "Máy in mở nắp")]
    record = client.get("/api/print-jobs?status=failed", headers=admin).get_json()["jobs"]
    assert sorted(j["last_error"] for j in record) == ["Máy in hết giấy", "Máy in mở nắp"]


def test_admin_changes_are_in_the_event_log(client, admin, app):
    from sqlalchemy import select

    from server.models import Event

    client.patch("/api/admin/fields/ho-tich", json={"minutes": 9}, headers=admin)
    with app.extensions["motcua"].storage.read() as s:
        kinds = s.scalars(select(Event.kind)).all()
    assert "admin_field_changed" in kinds


def test_a_prefix_cannot_change_after_the_field_issued_today(client, admin, engine, clock):
    ticket = engine.issue_ticket("ho-tich")
    r = client.patch("/api/admin/fields/ho-tich", json={"prefix": "HT"}, headers=admin)
    assert r.status_code == 409 and error_code(r) == "prefix_in_use_today"
    assert engine.ticket_status(ticket["token"])["code"] == "A001"
    assert engine.issue_ticket("ho-tich")["code"] == "A002"  # nothing changed
    clock.advance(days=1)
    r = client.patch("/api/admin/fields/ho-tich", json={"prefix": "HT"}, headers=admin)
    assert r.status_code == 200 and engine.issue_ticket("ho-tich")["code"] == "HT001"
