"""Engine changes -> Socket.IO. The one place that emits to boards, tablets and phones.

Rooms: every client is in the default broadcast; a paired device joins
`device:<id>` (a tablet also `tablet:<counter>`); a ticket's page joins
`ticket:<token>` after `follow`. On connect a client gets a full `state`
snapshot, so a board that reconnects after a restart or a network cut is whole again.

Control messages go to every server process (through the message queue when there
is one, see server/message_queue.py): a revoked device's sockets are closed wherever
they are connected.
"""
from __future__ import annotations

import logging
import threading

from flask import current_app, request

from .auth import DEVICE_COOKIE, device_counter_number, device_from_token
from .engine import Change, QueueEngine, QueueError
from .message_queue import CONTROL_EVENT

log = logging.getLogger(__name__)
QUEUE_COALESCE_S = 0.05  # many tickets in a burst -> one queue_updated
PRINTER_NAMESPACE = "/printer"  # the printer agents' namespace (server/printing.py)


def device_room(device_id: int) -> str:
    return f"device:{device_id}"




def register(socketio, engine: QueueEngine, storage, *, shared_rooms: bool = False) -> None:
    """`shared_rooms`: a message queue joins several processes, so rooms may live elsewhere."""
    pending = {"scheduled": False}
    lock = threading.Lock()

    def later(work, *args) -> None:
        """Run after the current request: calls reach the boards first, details follow."""
        def run():
            try:
                work(*args)
            except Exception:  # a background emit must never take anything else down
                log.warning("%s skipped", work.__name__, exc_info=True)

        socketio.start_background_task(run)

    def emit_queue_soon() -> None:
        with lock:
            if pending["scheduled"]:
                return
            pending["scheduled"] = True
        socketio.start_background_task(_emit_queue)

    def _emit_queue() -> None:
        socketio.sleep(QUEUE_COALESCE_S)
        with lock:
            pending["scheduled"] = False
        try:
            fields = engine.field_summaries()
        except Exception:  # a database hiccup must not kill the emitter; the next change retries
            log.warning("queue_updated skipped", exc_info=True)
            return
        socketio.emit("queue_updated", {"fields": [
            {"code": f["code"], "waiting": f["waiting"], "estimated_wait_s": f["estimated_wait_s"]} for f in fields]})

    def on_change(changes: list[Change]) -> None:
        for change in changes:
            data = change.data
            if change.kind == "ticket_called":
                socketio.emit("ticket_called", data)
            elif change.kind == "queue_changed":
                emit_queue_soon()
            elif change.kind == "counter_changed":
                later(_emit_counter, data.get("counter"))
            elif change.kind == "ticket_finished":
                socketio.emit("rate_request", {"token": data["token"], "ticket": data["ticket"]},
                              to=f"tablet:{data['counter']}")
            elif change.kind == "rated" and data.get("counter") is not None:
                socketio.emit("rate_cancel", {"token": data["token"]}, to=f"tablet:{data['counter']}")
            elif change.kind == "ticket_updated" and _followed(data["token"]):
                later(_emit_ticket, data["token"])
            elif change.kind == "config_changed":
                socketio.emit("state", engine.state())
            elif change.kind == "device_revoked":
                control({"revoke_device": data["device"]})

    def _emit_counter(number: int | None) -> None:
        if number is None:  # many counters changed at once (a new service day): resync everyone
            socketio.emit("state", engine.state())
            return
        try:
            view = engine.board_counter(number)
        except QueueError:
            return
        socketio.emit("counter_updated", {"counter": number, **view})

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

    def control(command: dict) -> None:
        """Carry out a command in every server process, this one included."""
        manager = socketio.server.manager
        if hasattr(manager, "control_handler"):
            manager.emit(CONTROL_EVENT, command, namespace="/")
        else:
            on_control(command)

    def on_control(command: dict) -> None:
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
        socketio.emit("state", engine.state(), ignore_queue=True)

    if hasattr(socketio.server.manager, "control_handler"):
        socketio.server.manager.control_handler = on_control
        socketio.server.manager.on_reconnect = resync_everyone_here
    engine.listeners.append(on_change)

    @socketio.on("connect")
    def connect(auth=None):
        from flask_socketio import join_room

        token = (auth or {}).get("device_token") if isinstance(auth, dict) else None
        token = token or request.cookies.get(DEVICE_COOKIE)
        device = device_from_token(storage, token)
        if token and device is None:
            return False  # a revoked (or forged) device: nothing more for it here
        if device is not None:
            join_room(device_room(device.id))
            if device.kind == "tablet":
                number = device_counter_number(storage, device)
                if number is not None:
                    join_room(f"tablet:{number}")
        socketio.emit("state", engine.state(), to=request.sid)

    @socketio.on("follow")
    def follow(data=None):
        """A ticket's own page follows its ticket by token (the token is the secret)."""
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
            view["print"] = printing.status_for(token)
        return view

    @socketio.on("sync")
    def sync(_data=None):
        return engine.state()


DAY_CHECK_S = 30


def start_background(socketio, engine: QueueEngine) -> None:
    """Close the service day at local midnight even when nobody touches the system."""

    def loop():
        while True:
            socketio.sleep(DAY_CHECK_S)
            if engine.roll_day():
                socketio.emit("state", engine.state())

    socketio.start_background_task(loop)
