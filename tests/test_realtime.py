"""Realtime with real Socket.IO clients against a live server, in both async modes."""
from __future__ import annotations

import queue
import threading
import time

import pytest
import requests
import socketio

pytestmark = pytest.mark.slow


class Board:
    """A Socket.IO client that records every event it receives."""

    EVENTS = ("state", "ticket_called", "queue_updated", "counter_updated", "rate_request", "rate_cancel",
              "ticket_updated", "ticket_position")

    def __init__(self, url: str, auth: dict | None = None):
        self.events: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        for name in self.EVENTS:
            self.client.on(name, self._recorder(name))
        self.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)

    def _recorder(self, name):
        return lambda data=None: self.events.put((name, data))

    def wait_for(self, name: str, timeout: float = 5.0, where=lambda data: True) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name} event within {timeout}s")
            try:
                event, data = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event == name and where(data):
                return data

    def received(self, name: str, within: float = 0.5) -> bool:
        try:
            self.wait_for(name, within)
            return True
        except AssertionError:
            return False

    def close(self):
        self.client.disconnect()


@pytest.fixture
def boards():
    made = []

    def make(url, auth=None):
        board = Board(url, auth)
        made.append(board)
        return board

    yield make
    # A websocket close against the threading server takes ~3 s; close them all at once.
    closers = [threading.Thread(target=board.close) for board in made]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(10)


def test_board_gets_state_on_connect_and_every_call(live_server_any_mode, boards):
    server = live_server_any_mode
    clerk = server.clerk_headers()
    ticket = server.issue("ho-tich", priority="elderly")
    watchers = [boards(server.url) for _ in range(5)]
    for board in watchers:
        state = board.wait_for("state")
        assert {f["code"]: f["waiting"] for f in state["fields"]}["ho-tich"] == 1
    r = requests.post(server.url + "/api/counters/1/call-next", headers=clerk)
    assert r.status_code == 200
    for board in watchers:
        call = board.wait_for("ticket_called")
        assert call["ticket"] == {"code": ticket["code"], "field": "ho-tich", "priority": "elderly"}
        assert call["counter"] == 1 and call["recall"] is False and call["at"].endswith("+07:00")
    requests.post(server.url + "/api/counters/1/recall", headers=clerk)
    assert watchers[0].wait_for("ticket_called")["recall"] is True


def test_issuing_updates_waiting_counts(live_server_any_mode, boards):
    server = live_server_any_mode
    board = boards(server.url)
    board.wait_for("state")
    server.issue("chung-thuc")
    update = board.wait_for("queue_updated")
    waiting = {f["code"]: f for f in update["fields"]}
    assert waiting["chung-thuc"]["waiting"] == 1 and "estimated_wait_s" in waiting["chung-thuc"]


def _paired_token(server, kind, counter=None):
    code = server.pairing_code(kind, counter)
    r = requests.post(server.url + "/api/devices/pair", json={"code": code})
    assert r.status_code == 200
    return r.json()["token"]


def test_only_the_paired_tablet_of_the_counter_is_asked_for_a_rating(live_server_any_mode, boards):
    server = live_server_any_mode
    clerk = server.clerk_headers()
    tablet1 = boards(server.url, auth={"device_token": _paired_token(server, "tablet", 1)})
    tablet2 = boards(server.url, auth={"device_token": _paired_token(server, "tablet", 2)})
    board = boards(server.url)
    for client in (tablet1, tablet2, board):
        client.wait_for("state")
    ticket = server.issue("ho-tich")
    requests.post(server.url + "/api/counters/1/call-next", headers=clerk)
    requests.post(server.url + "/api/counters/1/finish", headers=clerk)
    request = tablet1.wait_for("rate_request")
    assert request == {"token": ticket["token"], "ticket": {"code": ticket["code"]}}
    assert not tablet2.received("rate_request")
    assert not board.received("rate_request")
    r = requests.post(server.url + "/api/ratings", json={"token": ticket["token"], "score": 3})
    assert r.status_code == 201
    assert tablet1.wait_for("rate_cancel")["token"] == ticket["token"]


def test_a_ticket_page_follows_its_ticket(live_server_any_mode, boards):
    server = live_server_any_mode
    clerk = server.clerk_headers()
    first = server.issue("ho-tich")
    mine = server.issue("ho-tich")
    phone = boards(server.url)
    phone.wait_for("state")
    ack = phone.client.call("follow", {"token": mine["token"]}, timeout=5)
    assert ack["code"] == mine["code"] and ack["ahead"] == 1
    bad = phone.client.call("follow", {"token": "khong-co"}, timeout=5)
    assert bad["error"]["code"] == "ticket_not_found"
    empty = phone.client.call("follow", timeout=5)  # issue 10: no argument is an answer too, not a crash
    assert empty["error"]["code"] == "invalid_token"
    requests.post(server.url + "/api/counters/1/call-next", headers=clerk)  # calls the first
    requests.post(server.url + "/api/counters/2/call-next", headers=clerk)  # calls mine
    update = phone.wait_for("ticket_updated", where=lambda t: t["status"] == "called")
    assert update["code"] == mine["code"] and update["counter"] == 2
    assert first["code"] != mine["code"]


def test_a_ticket_page_is_told_its_call_and_its_finish_exactly_as_the_ticket_api_reads_them(
        live_server_any_mode, boards):
    """Call next tells the called and the finished ticket's pages from the rows it changed (no
    query after the call): what a phone is told must be what its page would read."""
    server = live_server_any_mode
    clerk = server.clerk_headers()
    mine = server.issue("ho-tich")
    server.issue("ho-tich")
    phone = boards(server.url)
    phone.wait_for("state")
    phone.client.call("follow", {"token": mine["token"]}, timeout=5)

    def page():
        view = requests.get(f"{server.url}/api/tickets/{mine['token']}", timeout=5).json()
        view.pop("track_url")
        return view

    requests.post(server.url + "/api/counters/1/call-next", headers=clerk)  # calls mine
    called = phone.wait_for("ticket_updated", where=lambda t: t["status"] == "called")
    assert called == page() and called["counter"] == 1 and called["rated"] is False
    requests.post(server.url + "/api/counters/1/call-next", headers=clerk)  # mine is done, the next called
    done = phone.wait_for("ticket_updated", where=lambda t: t["status"] == "done")
    assert done == page() and done["finished_at"] and done["counter"] == 1 and done["call_count"] == 1


def test_boards_reconnect_by_themselves_after_a_restart(live_server_any_mode, boards):
    server = live_server_any_mode
    board = boards(server.url)
    board.wait_for("state")
    server.stop()
    server.start()  # same port, same database
    ticket = server.issue("ho-tich")
    state = board.wait_for("state", timeout=15)  # resynced on reconnect
    assert state is not None
    clerk = server.clerk_headers()
    requests.post(server.url + "/api/counters/1/call-next", headers=clerk)
    assert board.wait_for("ticket_called", timeout=5)["ticket"]["code"] == ticket["code"]


def test_a_revoked_device_is_cut_off_at_once_in_every_namespace(live_server_any_mode, boards):
    """Issue 12: revoking a device closes its open sockets; nothing reaches it after."""
    server = live_server_any_mode
    clerk = server.clerk_headers()
    admin = server.login(*server.add_user("quantri9", role="admin"))
    tablet_token = _paired_token(server, "tablet", 1)
    tablet = boards(server.url, auth={"device_token": tablet_token})
    tablet.wait_for("state")
    agent_token = _paired_token(server, "kiosk")
    agent = socketio.Client(reconnection=False)
    jobs = []
    agent.on("print_job", lambda data: jobs.append(data), namespace="/printer")
    agent.connect(server.url, auth={"token": agent_token}, namespaces=["/printer"], transports=["websocket"],
                  wait_timeout=10)
    devices = requests.get(server.url + "/api/admin/devices", headers=admin, timeout=5).json()["devices"]
    for device in devices:
        r = requests.post(server.url + f"/api/admin/devices/{device['id']}/revoke", headers=admin, timeout=5)
        assert r.status_code == 200
    deadline = time.monotonic() + 5
    while (tablet.client.connected or agent.connected) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not tablet.client.connected and not agent.connected
    # What would have gone to them now goes nowhere: a finished ticket at counter 1, a kiosk print.
    server.issue("ho-tich")
    requests.post(server.url + "/api/counters/1/call-next", headers=clerk, timeout=5)
    requests.post(server.url + "/api/counters/1/finish", headers=clerk, timeout=5)
    assert not tablet.received("rate_request", within=1.0)
    assert jobs == []
    # And a revoked device cannot come back with its old token.
    again = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(server.url, auth={"device_token": tablet_token}, transports=["websocket"], wait_timeout=5)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(server.url, auth={"token": agent_token}, namespaces=["/printer"], transports=["websocket"],
                      wait_timeout=5)


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def two_processes(tmp_path):
    """Two server processes (eventlet and threading) on one PostgreSQL database, joined by Redis."""
    import os

    import redis

    from .conftest import _PG_SKIP, _drop_schema, _pg_schema_url
    from .live import LiveServer

    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("MOTCUA_REQUIRE_SERVICES"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379")
    url, schema = _pg_schema_url()
    env = {"DATABASE_URL": url, "MESSAGE_QUEUE_URL": REDIS_URL, "SECRET_KEY": "shared-secret"}
    a = LiveServer(tmp_path / "a", env=env, async_mode="eventlet").start()
    b = LiveServer(tmp_path / "b", env=env, async_mode="threading").start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()
        _drop_schema(schema)


def test_revoking_on_one_process_cuts_the_device_off_on_the_other(two_processes):
    """Two processes on PostgreSQL and Redis: the control message reaches the process holding the socket."""
    a, b = two_processes
    tablet = None
    try:
        tablet = Board(a.url, auth={"device_token": _paired_token(a, "tablet", 1)})
        tablet.wait_for("state")
        admin = b.login(*b.add_user("quantri9", role="admin"))
        device = requests.get(b.url + "/api/admin/devices", headers=admin, timeout=5).json()["devices"][0]
        assert requests.post(b.url + f"/api/admin/devices/{device['id']}/revoke", headers=admin,
                             timeout=5).status_code == 200
        deadline = time.monotonic() + 5
        while tablet.client.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not tablet.client.connected, "the tablet on process A stayed connected after a revoke on B"
    finally:
        if tablet is not None:
            threading.Thread(target=tablet.close, daemon=True).start()


def test_a_call_on_one_process_tells_phones_on_the_other_their_place_in_one_message(two_processes, boards):
    """A province's field may have hundreds waiting: their places cross Redis as one message for the
    field, and each process tells the phones it holds; a phone on A hears a call made on B."""
    import json

    import redis

    a, b = two_processes
    first = a.issue("ho-tich")
    mine = a.issue("ho-tich")
    behind = [a.issue("ho-tich") for _ in range(10)]
    phone = boards(a.url + "?phone=1")
    assert phone.client.call("follow", {"token": mine["token"]}, timeout=5)["ahead"] == 1
    listener = redis.Redis.from_url(REDIS_URL).pubsub()
    listener.subscribe("flask-socketio")
    try:
        assert listener.get_message(timeout=5)["type"] == "subscribe"  # listening before the call
        called = requests.post(b.url + "/api/counters/1/call-next", headers=b.clerk_headers(), timeout=5)
        assert called.json()["code"] == first["code"]
        place = phone.wait_for("ticket_position", where=lambda p: p["token"] == mine["token"])
        assert place["ahead"] == 0
        published, quiet_since = [], time.monotonic()
        while time.monotonic() - quiet_since < 1.0:
            message = listener.get_message(timeout=0.2)
            if message is not None and message["type"] == "message":
                published.append(json.loads(message["data"]))
                quiet_since = time.monotonic()
    finally:
        listener.close()
    assert not [m for m in published if m.get("event") == "ticket_position"], "a message through Redis per ticket"
    carried = [m["data"][0]["positions"] for m in published
               if m.get("event") == "motcua:control" and "positions" in m["data"][0]]
    carried = [places for places in carried if places[0]["token"] == mine["token"]]  # the field after the call
    assert len(carried) == 1
    assert [p["token"] for p in carried[0]] == [mine["token"]] + [t["token"] for t in behind]
    assert [p["ahead"] for p in carried[0]] == list(range(11))


def test_a_board_hears_only_its_own_office(live_server_any_mode, boards, tmp_path):
    """Issue 9: per-office rooms; a call, a new ticket or an admin edit in one office reaches no other board."""
    import json

    from server.setup import demo_seed

    server = live_server_any_mode
    seed = tmp_path / "ward.json"
    seed.write_text(json.dumps(demo_seed(), ensure_ascii=False), encoding="utf-8")
    added = server.cli("office", "add", "phuong-b", "--name", "UBND phường B", "--seed", str(seed))
    assert added.returncode == 0, added.stderr
    board_a = boards(server.url)                      # the default office, as every install's board today
    board_b = boards(server.url + "?office=phuong-b")
    state_b = board_b.wait_for("state")
    assert state_b["office"]["name"] == "UBND phường B"
    assert board_a.wait_for("state")["office"]["name"] != "UBND phường B"
    clerk_b = server.login(*server.add_user("canbo.b", role="clerk", office="phuong-b"))
    clerk_a = server.login(*server.add_user("canbo.a", office="default"))
    r = requests.post(server.url + "/o/phuong-b/api/tickets", json={"field": "ho-tich"}, timeout=5)
    assert r.status_code == 201
    requests.post(server.url + "/o/phuong-b/api/counters/2/call-next", headers=clerk_b, timeout=5)
    call = board_b.wait_for("ticket_called")
    assert call["ticket"]["code"] == "A001" and call["counter"] == 2
    assert call["counter_tile"]["current"]["code"] == "A001"  # one message carries what the board redraws
    assert {f["code"]: f["waiting"] for f in call["fields"]}["ho-tich"] == 0
    # the default office's board heard none of it
    for name in ("ticket_called", "queue_updated", "counter_updated", "state"):
        assert not board_a.received(name, within=0.3), name
    # and the other way round
    server.issue("ho-tich")
    requests.post(server.url + "/api/counters/1/call-next", headers=clerk_a, timeout=5)
    assert board_a.wait_for("ticket_called")["counter"] == 1
    assert not board_b.received("ticket_called", within=0.5)
    # an unknown office is refused, not served the default one
    stranger = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        stranger.connect(server.url + "?office=khong-co", transports=["websocket"], wait_timeout=5)


def test_a_phone_is_told_its_new_place_when_someone_ahead_is_called(live_server_any_mode, boards):
    """One query and one small message per waiting phone, instead of every phone asking again."""
    server = live_server_any_mode
    clerk = server.clerk_headers()
    first = server.issue("ho-tich")
    mine = server.issue("ho-tich")
    phone = boards(server.url + "?phone=1")
    assert phone.client.call("follow", {"token": mine["token"]}, timeout=5)["ahead"] == 1
    server.issue("ho-tich", priority="elderly")  # a priority ticket goes before me: my place moves back
    place = phone.wait_for("ticket_position", where=lambda p: p["token"] == mine["token"] and p["ahead"] == 2)
    assert place["estimated_wait_s"] > 0
    requests.post(server.url + "/api/counters/1/call-next", headers=clerk, timeout=5)  # the priority one
    requests.post(server.url + "/api/counters/2/call-next", headers=clerk, timeout=5)  # the first one
    place = phone.wait_for("ticket_position", where=lambda p: p["token"] == mine["token"] and p["ahead"] == 0)
    assert place["token"] == mine["token"] and first["code"] != mine["code"]
    # a phone hears nothing of the hall: no calls, no counts, no office's state
    for name in ("ticket_called", "queue_updated", "counter_updated", "state"):
        assert not phone.received(name, within=0.2), name


def test_socketio_events_leave_no_reference_cycles_for_the_garbage_collector(app):
    """Each Socket.IO event runs in a request context for /socket.io/; if that URL matched no
    rule, Flask kept a NotFound and its traceback there, a cycle per connect and disconnect that
    only a collection frees (with a province's 3,000 phones, long young collections)."""
    import gc

    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import RoutingException

    from server.extensions import socketio as server_socketio

    websocket = {"Connection": "Upgrade", "Upgrade": "websocket"}
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for headers in ({}, websocket) * 5:  # long-polling, and a websocket from its first request
            board = server_socketio.test_client(app, headers=headers)
            assert board.is_connected()
            board.disconnect()
        gc.collect()
        kept = [type(o).__name__ for o in gc.garbage if isinstance(o, (HTTPException, RoutingException))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert kept == []


def test_the_servers_packets_tell_binary_messages_as_python_socketios_own_do(app):
    """The server looks for binary attachments in a message its own, quicker way (python-socketio's
    took 15 % of the server's CPU in a reconnect storm, walking every board's `state`); it must
    answer as python-socketio's own does, bytes anywhere in a message's lists and dicts included."""
    from socketio.packet import Packet as Theirs

    from server.extensions import Packet as Ours, socketio as ours

    assert ours.server.packet_class is Ours
    state = app.extensions["motcua"].engine.state()
    messages = [
        ["state", state],
        ["print_job", {"job_id": "j1", "ticket": {"lines": ["A001", {"logo": b"\x1b@"}]}}],
        ["x", [[[bytearray(b"1")]]]],
        ["x", ("a tuple", b"python-socketio does not look into tuples")],
        "text", None, 5, b"raw",
    ]
    for message in messages:
        assert Ours.data_is_binary(message) == Theirs.data_is_binary(message), message
    assert Ours.data_is_binary(messages[1]) and not Ours.data_is_binary(messages[0])
