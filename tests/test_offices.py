"""Many offices in one deployment (issue 9): every rule scoped by office, the paths, the roles,
the province's overview and reports, the command line. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
import threading
from collections import Counter as Tally

import pytest

from server.auth import create_pairing, create_user
from server.printing import first_print_job_id
from server.setup import apply_seed, demo_seed

from .conftest import PASSWORD
from .test_api import error_code

OTHER = "phuong-ben-thanh"


@pytest.fixture
def other_office(app):
    """A second office with the demo fields, as `motcua office add … --seed` makes it."""
    seed = {**demo_seed(), "office": {"name": "UBND phường Bến Thành", "unit": "Bộ phận một cửa"}}
    return apply_seed(app.extensions["motcua"].storage, seed, office=OTHER)


def _login(client, username: str) -> dict:
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture
def other_clerk(app, client, other_office):
    create_user(app.extensions["motcua"].storage, "canbo.bt", PASSWORD, "clerk", "Võ Thị Hoa", office_id=other_office)
    return _login(client, "canbo.bt")


@pytest.fixture
def province(app, client):
    create_user(app.extensions["motcua"].storage, "tinh", PASSWORD, "province", "Sở Nội vụ")
    return _login(client, "tinh")


# ----- the engine, scoped by office ------------------------------------------------------------
def test_two_offices_both_issue_a001_today(engine, other_office):
    mine = engine.issue_ticket("ho-tich")
    theirs = engine.issue_ticket("ho-tich", office=other_office)
    assert mine["code"] == theirs["code"] == "A001"
    assert mine["token"] != theirs["token"]
    assert engine.issue_ticket("ho-tich", office=other_office)["code"] == "A002"
    assert engine.issue_ticket("ho-tich")["code"] == "A002"


def test_calls_counters_and_queues_stay_in_their_office(engine, other_office):
    engine.issue_ticket("ho-tich")
    theirs = engine.issue_ticket("chung-thuc", office=other_office)
    called = engine.call_next(1, office=other_office)
    assert called["code"] == theirs["code"] and called["office"] == OTHER
    assert engine.counter_view(1)["current"] is None  # counter 1 of the default office did nothing
    assert engine.counter_view(1, office=other_office)["current"]["code"] == "B001"
    waiting = {f["code"]: f["waiting"] for f in engine.field_summaries()}
    assert waiting["ho-tich"] == 1 and waiting["chung-thuc"] == 0
    theirs_waiting = {f["code"]: f["waiting"] for f in engine.field_summaries(office=other_office)}
    assert theirs_waiting["ho-tich"] == 0
    # calling a code calls it in the clerk's own office only
    with pytest.raises(Exception) as refused:
        engine.call_ticket(2, "B001")
    assert refused.value.code == "ticket_not_found"
    state = engine.state(office=other_office)
    assert [c["ticket"]["code"] for c in state["recent_calls"]] == ["B001"]
    assert engine.state()["recent_calls"] == []
    assert state["office"]["name"] == "UBND phường Bến Thành"


def test_each_office_keeps_its_own_rating_scale(client, admin, engine, other_office):
    client.patch("/api/admin/office", json={"rating_scale": 5}, headers=admin)
    assert engine.rating_scale()["scale"] == 5
    assert engine.rating_scale(office=other_office)["scale"] == 3


def test_two_offices_racing_kiosks_number_exactly(app, other_office):
    """Eight kiosk threads, four per office: each office's numbers are 1..N, none repeated or skipped."""
    per_kiosk, results, errors = 25, [], []
    lock = threading.Lock()

    def kiosk(office_path):
        client = app.test_client()
        for _ in range(per_kiosk):
            r = client.post(f"{office_path}/api/tickets", json={"field": "ho-tich"})
            with lock:
                (results if r.status_code == 201 else errors).append((office_path, r.get_json()))

    threads = [threading.Thread(target=kiosk, args=(path,)) for path in ("", f"/o/{OTHER}") for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    for path in ("", f"/o/{OTHER}"):
        numbers = sorted(body["number"] for p, body in results if p == path)
        assert numbers == list(range(1, 4 * per_kiosk + 1)), path
    assert Tally(body["office"] for _, body in results) == {"default": 100, OTHER: 100}


# ----- paths ---------------------------------------------------------------------------------------
def test_every_path_is_served_under_the_office(client, other_office):
    r = client.post(f"/o/{OTHER}/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 201 and r.get_json()["office"] == OTHER and r.get_json()["code"] == "A001"
    assert client.post("/api/tickets", json={"field": "ho-tich"}).get_json()["code"] == "A001"  # the default office
    state = client.get(f"/o/{OTHER}/api/state").get_json()
    assert state["office"]["name"] == "UBND phường Bến Thành"
    waiting = {f["code"]: f["waiting"] for f in client.get(f"/o/{OTHER}/api/fields").get_json()["fields"]}
    assert waiting["ho-tich"] == 1
    for page in ("kiosk/", "display/", "counter/", "rating/", "admin/", ""):
        r = client.get(f"/o/{OTHER}/{page}")
        assert r.status_code == 200, page
        assert f'data-office="{OTHER}"' in r.get_data(as_text=True), page
    # paths that belong to no office answer the same under either
    token = r = client.post("/api/tickets", json={"field": "ho-tich"}).get_json()["token"]
    assert client.get(f"/o/{OTHER}/api/tickets/{token}").get_json()["token"] == token
    assert client.get(f"/o/{OTHER}/api/health").status_code == 200


def test_an_unknown_office_is_404_office_not_found(client):
    for path in ("/o/khong-co/api/state", "/o/khong-co/api/tickets", "/o/khong-co/kiosk/", "/o/khong-co/api/health"):
        r = client.get(path) if "tickets" not in path else client.post(path, json={"field": "ho-tich"})
        assert r.status_code == 404, path
    r = client.get("/o/khong-co/api/state")
    assert error_code(r) == "office_not_found"
    page = client.get("/o/khong-co/kiosk/", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "Không có cơ quan “khong-co”" in page.get_data(as_text=True)


def test_a_paired_kiosk_issues_in_its_own_office_on_the_bare_path(app, other_office):
    _, code = create_pairing(app.extensions["motcua"].storage, "kiosk", office_id=other_office)
    kiosk = app.test_client()
    assert kiosk.post("/api/devices/pair", json={"code": code}).status_code == 200
    r = kiosk.post("/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 201 and r.get_json()["office"] == OTHER


# ----- roles -----------------------------------------------------------------------------------------
def test_staff_of_one_office_are_refused_in_another(client, clerk, admin, other_clerk):
    client.post(f"/o/{OTHER}/api/tickets", json={"field": "ho-tich"})
    r = client.post(f"/o/{OTHER}/api/counters/1/call-next", headers=clerk)
    assert r.status_code == 403 and error_code(r) == "forbidden"
    for path in (f"/o/{OTHER}/api/admin/fields", f"/o/{OTHER}/api/reports/summary", f"/o/{OTHER}/api/counters"):
        assert client.get(path, headers=admin).status_code == 403, path
    # their own clerk calls there; on the bare paths that clerk lands in their own office
    assert client.post(f"/o/{OTHER}/api/counters/1/call-next", headers=other_clerk).get_json()["code"] == "A001"
    assert client.get("/api/counters/1", headers=other_clerk).get_json()["current"]["code"] == "A001"
    r = client.get("/api/auth/me", headers=other_clerk).get_json()
    assert r["office"] == {"slug": OTHER, "name": "UBND phường Bến Thành"}


def test_a_province_user_administers_offices_and_sees_them_all(client, province, admin, other_office):
    r = client.post("/api/admin/offices", json={"slug": "xa-moi", "name": "UBND xã Mới"}, headers=province)
    assert r.status_code == 201 and r.get_json()["slug"] == "xa-moi"
    assert client.post("/api/admin/offices", json={"slug": "xa-moi", "name": "x"}, headers=province).status_code == 409
    assert client.post("/api/admin/offices", json={"slug": "Xã Mới", "name": "x"}, headers=province).status_code == 422
    assert client.post("/api/admin/offices", json={"slug": "xa-khac", "name": "x"}, headers=admin).status_code == 403
    r = client.patch("/api/admin/offices/xa-moi", json={"name": "UBND xã Mới Lập"}, headers=province)
    assert r.get_json()["name"] == "UBND xã Mới Lập"
    slugs = [o["slug"] for o in client.get("/api/admin/offices", headers=province).get_json()["offices"]]
    assert set(slugs) == {"default", OTHER, "xa-moi"}
    # a province user works in any office's admin
    assert client.get(f"/o/{OTHER}/api/admin/fields", headers=province).status_code == 200
    # deactivated: its paths answer 404, nothing is deleted
    client.patch("/api/admin/offices/xa-moi", json={"active": False}, headers=province)
    assert client.get("/o/xa-moi/api/state").status_code == 404
    assert "xa-moi" in [o["slug"] for o in client.get("/api/admin/offices", headers=province).get_json()["offices"]]


def test_province_overview_puts_the_hall_in_trouble_on_top(client, province, clock, clerk, other_office):
    for _ in range(3):
        client.post(f"/o/{OTHER}/api/tickets", json={"field": "ho-tich"})
    clock.advance(minutes=5)
    client.post("/api/tickets", json={"field": "ho-tich"})
    clock.advance(minutes=1)
    client.post("/api/counters/1/call-next", headers=clerk)
    r = client.get("/api/province/overview", headers=province)
    assert r.status_code == 200
    rows = r.get_json()["offices"]
    assert [o["slug"] for o in rows] == [OTHER, "default"]
    assert rows[0]["waiting"] == 3 and rows[0]["longest_wait_s"] == 360
    assert rows[1]["waiting"] == 0 and rows[1]["longest_wait_s"] == 0
    for key in ("served_today", "no_show_today", "counters_open", "rated_today", "satisfied_share_today"):
        assert key in rows[0]
    assert client.get("/api/province/overview", headers=clerk).status_code == 403


def test_reports_for_every_office_carry_a_by_office_table(client, province, admin, clerk, other_office):
    client.post("/api/tickets", json={"field": "ho-tich"})
    client.post(f"/o/{OTHER}/api/tickets", json={"field": "ho-tich"})
    client.post(f"/o/{OTHER}/api/tickets", json={"field": "chung-thuc"})
    day = "from=2026-11-25&to=2026-11-25"
    everyone = client.get(f"/api/reports/summary?{day}&office=all", headers=province).get_json()
    assert everyone["totals"]["issued"] == 3
    assert {o["slug"]: o["issued"] for o in everyone["by_office"]} == {"default": 1, OTHER: 2}
    client.post("/api/admin/offices", json={"slug": "xa-lang", "name": "UBND xã Lặng"}, headers=province)
    silent = client.get(f"/api/reports/summary?{day}&office=all", headers=province).get_json()["by_office"]
    assert {o["slug"]: o["issued"] for o in silent}["xa-lang"] == 0  # an office with no ticket is listed too
    assert client.get(f"/api/reports/summary?{day}&office=all", headers=admin).status_code == 403
    assert client.get(f"/api/reports/summary?{day}&office={OTHER}", headers=admin).status_code == 403
    mine = client.get(f"/api/reports/summary?{day}", headers=admin).get_json()
    assert mine["totals"]["issued"] == 1 and "by_office" not in mine
    theirs = client.get(f"/api/reports/summary?{day}&office={OTHER}", headers=province).get_json()
    assert theirs["totals"]["issued"] == 2
    csv_text = client.get(f"/api/reports/summary.csv?{day}&office=all", headers=province).get_data(as_text=True)
    assert f"Cơ quan,{OTHER},UBND phường Bến Thành,2" in csv_text
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(client.get(f"/api/reports/summary.xlsx?{day}&office=all", headers=province).data))
    rows = list(book["Theo cơ quan"].iter_rows(values_only=True))
    assert any(r[0] == OTHER and r[2] == 2 for r in rows)


def test_admin_changes_stay_in_their_office(client, admin, other_office, engine):
    r = client.post("/api/admin/fields", json={"name": "Tư pháp", "prefix": "T"}, headers=admin)
    assert r.status_code == 201
    assert "tu-phap" not in [f["code"] for f in engine.field_summaries(office=other_office)]
    # codes and prefixes are unique within an office, not across offices
    from server.engine import QueueEngine  # noqa: F401 - the same engine both offices share

    assert client.post(f"/o/{OTHER}/api/tickets", json={"field": "tu-phap"}).status_code == 404


def test_print_jobs_reprints_and_cancels_stay_in_their_office(client, admin, province, other_office):
    """Both halls have an A001 today: an office's admin lists, reprints and cancels its own only."""
    theirs = client.post(f"/o/{OTHER}/api/tickets", json={"field": "ho-tich"}).get_json()  # the older A001
    mine = client.post("/api/tickets", json={"field": "ho-tich"}).get_json()
    assert mine["code"] == theirs["code"] == "A001"
    listed = client.get("/api/print-jobs", headers=admin).get_json()["jobs"]
    assert [j["job_id"] for j in listed] == [first_print_job_id(mine["token"])]
    there = client.get(f"/o/{OTHER}/api/print-jobs", headers=province).get_json()["jobs"]
    assert [j["job_id"] for j in there] == [first_print_job_id(theirs["token"])]
    # "In lại A001" at this hall prints this hall's A001
    r = client.post("/api/print-jobs/reprint", json={"code": "A001"}, headers=admin)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["ticket_id"] == listed[0]["ticket_id"] != there[0]["ticket_id"]
    # the other hall's ticket and job are not found here, and nothing changes there
    r = client.post("/api/print-jobs/reprint", json={"token": theirs["token"]}, headers=admin)
    assert r.status_code == 404 and error_code(r) == "ticket_not_found"
    r = client.post(f"/api/print-jobs/{there[0]['job_id']}/cancel", headers=admin)
    assert r.status_code == 404 and error_code(r) == "print_job_not_found"
    after = client.get(f"/o/{OTHER}/api/print-jobs", headers=province).get_json()["jobs"]
    assert [j["job_id"] for j in after] == [there[0]["job_id"]] and after[0]["status"] != "cancelled"
    assert len(client.get("/api/print-jobs", headers=admin).get_json()["jobs"]) == 2  # the first print, the reprint


def test_printer_status_names_only_the_offices_own_kiosk_agents(app, client, admin, province, other_office):
    """A kiosk with its own printer is connected in each hall: an office's admin sees that kiosk,
    not the other hall's device ids; the province sees each hall's under the hall's path."""
    from server.auth import complete_pairing
    from server.extensions import socketio

    storage = app.extensions["motcua"].storage
    kiosks, agents = {}, []
    try:
        for office in (None, other_office):
            device, code = create_pairing(storage, "kiosk", name="Ki-ốt có máy in", office_id=office)
            _, token = complete_pairing(storage, code)
            agent = socketio.test_client(app, namespace="/printer", auth={"token": token})
            agents.append(agent)
            assert agent.is_connected("/printer")
            kiosks[office] = device.id
        r = client.get("/api/printer/status", headers=admin)
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["agents_connected"] == [kiosks[None]]
        there = client.get(f"/o/{OTHER}/api/printer/status", headers=province).get_json()
        assert there["agents_connected"] == [kiosks[other_office]]
        # the other hall's admin path is not this admin's to ask
        assert client.get(f"/o/{OTHER}/api/printer/status", headers=admin).status_code == 403
    finally:
        for agent in agents:
            agent.disconnect(namespace="/printer")


# ----- the command line ----------------------------------------------------------------------------------
def test_office_add_list_and_office_options(tmp_path):
    from .test_cli import motcua

    assert motcua(tmp_path, "init").returncode == 0
    seed = tmp_path / "ward.json"
    seed.write_text(json.dumps(demo_seed(), ensure_ascii=False), encoding="utf-8")
    added = motcua(tmp_path, "office", "add", "phuong-ba-dinh", "--name", "UBND phường Ba Đình", "--seed", str(seed))
    assert added.returncode == 0, added.stderr
    assert motcua(tmp_path, "office", "add", "phuong-ba-dinh", "--name", "x").returncode == 2
    listing = motcua(tmp_path, "office", "list").stdout
    assert "default" in listing and "(mặc định)" in listing and "phuong-ba-dinh\tUBND phường Ba Đình" in listing
    # with two offices a clerk needs --office; a province user does not
    no_office = motcua(tmp_path, "user", "add", "lan", "--role", "clerk", "--password-stdin", stdin="mot-mat-khau-dai\n")
    assert no_office.returncode == 2 and "--office" in no_office.stderr
    ok = motcua(tmp_path, "user", "add", "lan", "--role", "clerk", "--office", "phuong-ba-dinh", "--password-stdin",
                stdin="mot-mat-khau-dai\n")
    assert ok.returncode == 0, ok.stderr
    tinh = motcua(tmp_path, "user", "add", "tinh", "--role", "province", "--password-stdin", stdin="mot-mat-khau-dai\n")
    assert tinh.returncode == 0 and "cấp tỉnh" in tinh.stdout
    pair = motcua(tmp_path, "device", "pair", "tablet", "--office", "phuong-ba-dinh", "--counter", "2",
                  env={"PUBLIC_URL": "http://192.168.1.10:8000"})
    assert pair.returncode == 0, pair.stderr
    assert "http://192.168.1.10:8000/o/phuong-ba-dinh/rating?pair=" in pair.stdout
    unknown = motcua(tmp_path, "device", "pair", "kiosk", "--office", "khong-co")
    assert unknown.returncode == 2 and "khong-co" in unknown.stderr
