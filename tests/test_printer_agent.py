"""A printer on a kiosk PC: jobs over Socket.IO, through server kills, never printed twice."""
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import update

from printer.agent import PrinterAgent
from server.auth import complete_pairing, create_pairing
from server.models import Device, PrintJob
from server.printing import PrintService
from tests.printer_fixtures import (
    FakeNetworkPrinter, add_ticket, make_config, make_storage, seed_office, wait_until,
)

ROOT = Path(__file__).resolve().parents[1]

SERVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from flask import Flask, jsonify
    from flask_socketio import SocketIO
    sys.path.insert(0, {root!r})
    from server.config import Config
    from server.storage import Storage
    from server.printing import PrintService, register_printer_namespace

    tmp = Path({tmp!r})
    config = Config(database_url="sqlite:///" + str(tmp / "motcua.db"), secret_key="t", printer="dummy",
                    instance_path=tmp, public_url="http://10.0.0.2:8000", async_mode="threading")
    storage = Storage(config.database_url, synchronous="NORMAL")
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading")
    service = PrintService(storage, config, socketio=socketio)
    service.loop_interval = 0.1
    register_printer_namespace(socketio, service)

    @app.post("/submit/<int:ticket_id>")
    def submit(ticket_id):
        return jsonify(service.submit(ticket_id))

    service.start()
    socketio.run(app, host="127.0.0.1", port={port}, allow_unsafe_werkzeug=True, log_output=False)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.script = tmp_path / "server.py"
        self.script.write_text(SERVER.format(root=str(ROOT), tmp=str(tmp_path), port=self.port))
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen([sys.executable, str(self.script)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            try:
                return requests.get(self.url + "/socket.io/?EIO=4&transport=polling", timeout=0.5).ok
            except requests.RequestException:
                return False

        assert wait_until(up, timeout=15), "server did not start"

    def kill(self):
        self.proc.kill()  # kill -9: no goodbye to the agent
        self.proc.wait()


@pytest.fixture
def world(tmp_path):
    storage = make_storage(tmp_path)
    field_id = seed_office(storage)
    device, _code = create_pairing(storage, "kiosk", name="Kiosk sảnh")
    device, token = complete_pairing(storage, _code)
    with storage.write() as s:
        s.get(Device, device.id).settings = {"printer": "agent"}
    printer = FakeNetworkPrinter()
    server = Server(tmp_path)
    server.start()
    agent = PrinterAgent(server.url, token, printer.spec + "?width=58", state_dir=tmp_path / "agent")
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    assert agent.connected.wait(15)
    yield storage, field_id, device.id, printer, server, agent
    agent.stop()
    if server.proc.poll() is None:
        server.kill()
    printer.close()
    storage.dispose()


def status(storage, job_id):
    with storage.read() as s:
        return s.get(PrintJob, job_id).status


def test_agent_prints_survives_a_server_kill_and_never_prints_twice(world, tmp_path):
    storage, field_id, device_id, printer, server, agent = world

    # 1. The kiosk takes a ticket: the server hands it to the agent, the agent prints and acknowledges.
    first = add_ticket(storage, field_id, 1, device_id=device_id)
    result = requests.post(f"{server.url}/submit/{first}", timeout=5).json()
    assert wait_until(lambda: status(storage, result["job_id"]) == "printed")
    assert wait_until(lambda: len(printer.jobs()) == 1)

    # 2. kill -9 the server; a ticket issued meanwhile waits as a job for this kiosk.
    server.kill()
    second = add_ticket(storage, field_id, 2, device_id=device_id)
    offline = PrintService(storage, make_config(tmp_path, "dummy")).submit(second)
    assert offline["status"] == "pending"

    # 3. Pretend the first acknowledgement was lost: the server will send that job again.
    with storage.write() as s:
        s.execute(update(PrintJob).where(PrintJob.id == result["job_id"]).values(status="pending"))

    server.start()
    assert wait_until(lambda: status(storage, offline["job_id"]) == "printed", timeout=30)
    assert wait_until(lambda: status(storage, result["job_id"]) == "printed", timeout=10)
    time.sleep(0.5)
    assert len(printer.jobs()) == 2  # the re-sent first job was acknowledged from the journal, not printed


def test_a_job_the_agent_died_printing_is_reported_not_printed_again(tmp_path):
    printer = FakeNetworkPrinter()
    try:
        agent = PrinterAgent("http://127.0.0.1:9", "t", printer.spec, state_dir=tmp_path)
        agent.journal.record("job-x", "start")  # crashed between "start" and "done"
        from printer.ticket import sample_ticket

        ack = agent.handle({"job_id": "job-x", "ticket": sample_ticket().to_dict()})
        assert ack["status"] == "failed" and ack["retryable"] is False
        ok = agent.handle({"job_id": "job-y", "ticket": sample_ticket().to_dict()})
        assert ok == {"job_id": "job-y", "status": "printed"}
        assert agent.handle({"job_id": "job-y", "ticket": sample_ticket().to_dict()})["status"] == "printed"
        assert wait_until(lambda: len(printer.jobs()) == 1)
        time.sleep(0.2)
        assert len(printer.jobs()) == 1
        # the journal outlives the process
        again = PrinterAgent("http://127.0.0.1:9", "t", printer.spec, state_dir=tmp_path)
        assert again.journal.get("job-y") == "done" and again.journal.get("job-x") == "start"
    finally:
        printer.close()


def test_a_token_that_is_not_a_kiosk_is_refused(world):
    import socketio

    storage, field_id, device_id, printer, server, agent = world
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, auth={"token": "wrong"}, namespaces=["/printer"], wait_timeout=5)
    client.disconnect()
