"""Engine changes -> Socket.IO. The one place that emits to boards, kiosks, tablets and phones.

Rooms, per office (never a broadcast filtered in the browser):
- `office:<id>`: every client of that office (boards, kiosks, consoles, ticket pages). A
  client names its office in the connection URL (`?office=<slug>`; absent: the office of
  its paired device, else of its logged-in clerk, else the default office). A paired device
  is always put in its own office.
- `device:<id>` for a paired device; `tablet:<office>:<counter>` for a rating tablet;
  `ticket:<token>` for a page following its ticket (`follow`); `province` for province users.
  A ticket's page on a phone connects with `?phone=1` and joins only its ticket's room: when
  places move in its field it is told its own (`ticket_position`), so a province's thousands of
  phones neither hear every call nor ask again after each.
On connect a client gets its office's full `state`, so a board that reconnects after a
restart or a network cut is whole again.

A call reaches a board as one message: `ticket_called` carries the counter's tile and the
office's waiting counts, so the board redraws everything from it.

Control messages go to every server process (through the message queue when there is
one, see server/message_queue.py): a revoked device's sockets are closed wherever they
are connected.
"""
from __future__ import annotations

import logging
import threading

from flask import current_app, request

from .auth import DEVICE_COOKIE, current_user, device_counter_number, device_from_token
from .engine import Change, QueueEngine, QueueError
from .message_queue import CONTROL_EVENT

log = logging.getLogger(__name__)
QUEUE_COALESCE_S = 0.05  # many tickets in a burst -> one queue_updated per office
PROVINCE_COALESCE_S = 2.0  # the province's wall: at most one overview every 2 s
PRINTER_NAMESPACE = "/printer"  # the printer agents' namespace (server/printing/agents.py)
PROVINCE_ROOM = "province"


def device_room(device_id: int) -> str:
    return f"device:{device_id}"


def office_room(office_id: int) -> str:
    return f"office:{office_id}"


def tablet_room(office_id: int, counter: int) -> str:
    return f"tablet:{office_id}:{counter}"


def register(socketio, engine: QueueEngine, storage, *, shared_rooms: bool = False) -> None:
    """`shared_rooms`: a message queue joins several processes, so rooms may live elsewhere."""
    lock = threading.Lock()
    office_of_sid: dict[str, int] = {}  # the office each client of this process is in
    queue_pending: set[int] = set()
    positions_pending: set[tuple[int, str]] = set()
    province_pending = {"scheduled": False}

    def later(work, *args) -> None:
        """Run after the current request: the clerk's answer is not held up by what follows."""
        def run():
            try:
                work(*args)
            except Exception:  # a background emit must never take anything else down
                log.warning("%s skipped", work.__name__, exc_info=True)

        socketio.start_background_task(run)

    # ----- coalesced emits ------------------------------------------------------------
    def emit_queue_soon(office_id: int) -> None:
        with lock:
            if office_id in queue_pending:
                return
            queue_pending.add(office_id)
        socketio.start_background_task(_emit_queue, office_id)

    def _emit_queue(office_id: int) -> None:
        socketio.sleep(QUEUE_COALESCE_S)
        with lock:
            queue_pending.discard(office_id)
        try:
            fields = _waiting(office_id)
        except Exception:  # a database hiccup must not kill the emitter; the next change retries
            log.warning("queue_updated skipped", exc_info=True)
            return
        socketio.emit("queue_updated", {"fields": fields}, to=office_room(office_id))

    def _waiting(office_id: int, waiting: dict[int, int] | None = None) -> list[dict]:
        return engine.waiting_counts(office=office_id, waiting=waiting)

    def push_positions_soon(office_id: int, field: str) -> None:
        if not shared_rooms and not any(isinstance(room, str) and room.startswith("ticket:")
                                        for room in list(socketio.server.manager.rooms.get("/", {}))):
            return  # no phone follows a ticket here: no need to read every waiting ticket's place
        with lock:
            if (office_id, field) in positions_pending:
                return
            positions_pending.add((office_id, field))
        socketio.start_background_task(_push_positions, office_id, field)

    def _push_positions(office_id: int, field: str) -> None:
        """Places moved in a field: each phone following a waiting ticket is told its new place
        (one query for the whole field), instead of every phone asking again."""
        socketio.sleep(QUEUE_COALESCE_S)
        with lock:
            positions_pending.discard((office_id, field))
        try:
            positions = engine.queue_positions(field, office=office_id)
        except Exception:
            log.warning("ticket_position skipped", exc_info=True)
            return
        if shared_rooms and positions:
            # One message through the queue for the whole field, not one a waiting ticket: every
            # process tells the phones it holds (a province's field may have hundreds waiting).
            control({"positions": positions})
        else:
            _tell_positions_here(positions)

    def _tell_positions_here(positions: list[dict]) -> None:
        """Each phone of this process that follows one of these tickets hears its own place."""
        rooms = socketio.server.manager.rooms.get("/", {})
        for place in positions:
            room = f"ticket:{place['token']}"
            if rooms.get(room):
                socketio.emit("ticket_position", place, to=room, ignore_queue=True)

    def emit_province_soon() -> None:
        if not shared_rooms and not socketio.server.manager.rooms.get("/", {}).get(PROVINCE_ROOM):
            return  # nobody watches the province's wall on this process
        with lock:
            if province_pending["scheduled"]:
                return
            province_pending["scheduled"] = True
        socketio.start_background_task(_emit_province)

    def _emit_province() -> None:
        socketio.sleep(PROVINCE_COALESCE_S)
        with lock:
            province_pending["scheduled"] = False
        socketio.emit("province_updated", engine.province_overview(), to=PROVINCE_ROOM)

    # ----- the engine's changes ------------------------------------------------------------
    def on_change(changes: list[Change]) -> None:
        called = {c.office for c in changes if c.kind == "ticket_called"}
        for change in changes:
            data, office = change.data, change.office
            if change.kind == "ticket_called":
                _emit_call(office, data, change.tile, change.waiting)
            elif change.kind == "queue_changed":
                if office not in called:
                    emit_queue_soon(office)  # a call's message carries the waiting counts already
                for field in data.get("moved", []):
                    push_positions_soon(office, field)
            elif change.kind == "counter_changed" and office not in called:
                later(_emit_counter, office, data.get("counter"))
            elif change.kind == "ticket_finished":
                socketio.emit("rate_request", {"token": data["token"], "ticket": data["ticket"]},
                              to=tablet_room(office, data["counter"]))
            elif change.kind == "rated" and data.get("counter") is not None:
                socketio.emit("rate_cancel", {"token": data["token"]}, to=tablet_room(office, data["counter"]))
            elif change.kind == "ticket_updated" and _followed(data["token"]):
                if change.view is not None:  # the engine had the page's view in hand: no query
                    socketio.emit("ticket_updated", change.view, to=f"ticket:{data['token']}")
                else:
                    later(_emit_ticket, data["token"])
            elif change.kind == "config_changed":
                if shared_rooms:  # the other processes forget their cached fields and offices too
                    control({"forget_caches": True})
                socketio.emit("state", engine.state(office=office), to=office_room(office))
            elif change.kind == "device_revoked":
                control({"revoke_device": data["device"]})
        if any(c.office is not None for c in changes):
            emit_province_soon()

    def _emit_call(office_id: int, call: dict, tile: dict | None = None,
                   waiting: dict[int, int] | None = None) -> None:
        """One message per board: the call, the counter's tile and the waiting counts (from what the
        engine had in hand when it had it, as call next does)."""
        message = dict(call)
        try:
            message["counter_tile"] = {"counter": call["counter"],
                                       **(tile or engine.board_counter(call["counter"], office=office_id))}
            message["fields"] = _waiting(office_id, waiting)
        except Exception:  # the call itself must reach the hall even if the details fail
            log.warning("call details skipped", exc_info=True)
        socketio.emit("ticket_called", message, to=office_room(office_id))

    def _emit_counter(office_id: int, number: int | None) -> None:
        if number is None:  # many counters changed at once (a new service day): resync the office
            socketio.emit("state", engine.state(office=office_id), to=office_room(office_id))
            return
        try:
            view = engine.board_counter(number, office=office_id)
        except QueueError:
            return
        socketio.emit("counter_updated", {"counter": number, **view}, to=office_room(office_id))

    def _followed(token: str) -> bool:
        """Is a ticket page following this ticket? (Always assume so when rooms are shared.)"""
        if shared_rooms:
            return True
        rooms = socketio.server.manager.rooms.get("/", {})
        return bool(rooms.get(f"ticket:{token}"))

    def _emit_ticket(token: str) -> None:
        try:
            view = engine.ticket_status(token)
        except QueueError:
            return
        socketio.emit("ticket_updated", view, to=f"ticket:{token}")

    # ----- control messages between the processes ----------------------------------------
    def control(command: dict) -> None:
        """Carry out a command in every server process, this one included."""
        manager = socketio.server.manager
        if hasattr(manager, "control_handler"):
            manager.emit(CONTROL_EVENT, command, namespace="/")
        else:
            on_control(command)

    def on_control(command: dict) -> None:
        if command.get("forget_caches"):
            engine.forget_caches()
        if isinstance(command.get("positions"), list):
            _tell_positions_here(command["positions"])
        if command.get("revoke_device") is not None:
            # In the background: closing a websocket waits for the client's goodbye.
            later(_disconnect_device, int(command["revoke_device"]))

    def _disconnect_device(device_id: int) -> None:
        """Close every socket of the device on this process, in every namespace, at once."""
        server = socketio.server
        rooms = [("/", device_room(device_id))]
        try:
            from .printing import agent_room

            rooms.append((PRINTER_NAMESPACE, agent_room(device_id)))
        except ImportError:  # no printer package in this install: no printer agents either
            pass
        for namespace, room in rooms:
            for sid, eio_sid in list(server.manager.get_participants(namespace, room)):
                server.disconnect(sid, namespace=namespace, ignore_queue=True)
                try:
                    server.eio.disconnect(eio_sid)  # the connection itself, not only the namespace
                except Exception:  # already gone
                    pass

    def resync_everyone_here() -> None:
        """The message queue is back: calls made elsewhere meanwhile never reached this process."""
        for office in engine.offices.all():
            socketio.emit("state", engine.state(office=office.id), to=office_room(office.id), ignore_queue=True)

    if hasattr(socketio.server.manager, "control_handler"):
        socketio.server.manager.control_handler = on_control
        socketio.server.manager.on_reconnect = resync_everyone_here
    engine.listeners.append(on_change)

    # ----- clients ---------------------------------------------------------------------------
    @socketio.on("connect")
    def connect(auth=None):
        from flask_socketio import join_room

        token = (auth or {}).get("device_token") if isinstance(auth, dict) else None
        token = token or request.cookies.get(DEVICE_COOKIE)
        device = device_from_token(storage, token)
        if token and device is None:
            return False  # a revoked (or forged) device: nothing more for it here
        if device is None and request.args.get("phone"):
            return True  # a ticket's page on a phone: it follows its ticket only (see `follow`)
        office = _office_of_connection(device)
        if office is None:
            return False  # an office that does not exist (or no longer serves)
        join_room(office_room(office.id))
        office_of_sid[request.sid] = office.id
        if device is not None:
            join_room(device_room(device.id))
            if device.kind == "tablet":
                number = device_counter_number(storage, device)
                if number is not None:
                    join_room(tablet_room(office.id, number))
        user = current_user()
        if user is not None and user.role == "province" and request.args.get("province"):
            join_room(PROVINCE_ROOM)
            socketio.emit("province_updated", engine.province_overview(), to=request.sid)
        socketio.emit("state", engine.state(office=office.id), to=request.sid)

    def _office_of_connection(device):
        if device is not None:  # a paired device is always in its own office
            return engine.offices.get(device.office_id)
        slug = request.args.get("office")
        if slug:
            office = engine.offices.by_slug(slug)
            if office is None:
                engine.offices.reload()
                office = engine.offices.by_slug(slug)
            return office if office is not None and office.active else None
        user = current_user()
        if user is not None and user.office_id is not None:
            return engine.offices.get(user.office_id)
        return engine.offices.default()

    @socketio.on("follow")
    def follow(data=None):
        """A ticket's own page (or the kiosk that issued it) follows its ticket by token (the token is the secret)."""
        from flask_socketio import join_room

        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or len(token) > 64:
            return {"error": {"code": "invalid_token", "message": "Mã phiếu không hợp lệ."}}
        try:
            view = engine.ticket_status(token)
        except QueueError as err:
            return {"error": {"code": err.code, "message": err.message}}
        join_room(f"ticket:{token}")
        printing = current_app.extensions["motcua"].printing
        if printing is not None:
            # A kiosk follows the ticket it just issued to learn how its print went; the print
            # may already be over, so the answer carries where it stands (then `print_status`).
            job = printing.status_for(token)  # only what the kiosk says; the job's details are the admin's
            view["print"] = {key: job.get(key) for key in ("status", "printed", "last_error")}
        return view

    @socketio.on("unfollow")
    def unfollow(data=None):
        """The kiosk has learnt how its print went: it stops following that ticket."""
        from flask_socketio import leave_room

        token = data.get("token") if isinstance(data, dict) else None
        if isinstance(token, str) and len(token) <= 64:
            leave_room(f"ticket:{token}")
        return {"ok": True}

    @socketio.on("disconnect")
    def disconnect(*_reason):
        office_of_sid.pop(request.sid, None)

    @socketio.on("sync")
    def sync(_data=None):
        office = office_of_sid.get(request.sid)
        return engine.state(office=office) if office is not None else {}


DAY_CHECK_S = 30


def start_background(socketio, engine: QueueEngine) -> None:
    """Close the service day at local midnight even when nobody touches the system, and mark
    bookings whose check-in window closed as missed (also those that closed while the server
    was down, at once)."""

    def loop():
        while True:
            try:
                engine.sweep_missed()
            except Exception:  # a database hiccup: try again at the next check
                log.warning("missed-booking sweep skipped", exc_info=True)
            socketio.sleep(DAY_CHECK_S)
            try:
                if engine.roll_day():
                    for office in engine.offices.all():
                        socketio.emit("state", engine.state(office=office.id), to=office_room(office.id))
            except Exception:  # a database hiccup: try again at the next check
                log.warning("day check skipped", exc_info=True)

    socketio.start_background_task(loop)
