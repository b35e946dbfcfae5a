"""The HTTP server: eventlet's WSGI server (or Werkzeug's in threading mode), made safe for
a LAN with strangers on it, and stopped gently.

- **No client holds the hall.** A request line and its headers must arrive within
  `HEADER_TIMEOUT` seconds (an idle keep-alive connection is closed after as long); any
  later read waits at most `SOCKET_TIMEOUT` (above Socket.IO's 25 s ping, so idle
  websockets live). At most `MAX_CONNECTIONS` connections are served at once and at most
  `MAX_CONNECTIONS_PER_ADDRESS` from one address; past either, a new connection gets a
  `503` at once instead of waiting in line behind a thousand half-sent requests.
  Behind a reverse proxy (`PROXY_HOPS`) every connection comes from the proxy, so the
  per-address cap is the proxy's job (deploy/nginx: `limit_conn`).
- **SIGTERM stops gently**: stop accepting, let the requests in flight finish (up to
  `STOP_GRACE_S`), then exit. Websockets are not waited for: boards and tablets reconnect
  by themselves (to another process behind nginx, or to this one when it is back).
"""
from __future__ import annotations

import errno
import gc
import json
import logging
import os
import resource
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter

log = logging.getLogger(__name__)
# Young collections every GC_YOUNG_THRESHOLD new objects instead of CPython's 700 (see tune_gc).
GC_YOUNG_THRESHOLD = 10_000

SOCKET_TIMEOUT_S = 75
STOP_GRACE_S = 8
QUIET_S = 0.3  # stopping: no request in flight for this long means keep-alive clients have moved on
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_REFUSAL_BODY = ('{"error": {"code": "too_many_connections", '
                 '"message": "Máy chủ đang bận, xin thử lại sau giây lát."}}').encode()
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
           b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_REFUSAL_BODY), _REFUSAL_BODY))


access_log = logging.getLogger("motcua.access")
LOG_NOTES = "motcua.log_notes"


class InFlight:
    """WSGI middleware counting the HTTP requests being answered (not websockets nor long polls),
    and writing one line per request to the access log: method, path, status, milliseconds,
    office and client address, as JSON (journald keeps it; a log shipper can read it)."""

    def __init__(self, app, log_requests: bool = True):
        self.app = app
        self.count = 0
        self.log_requests = log_requests
        self.stopping = False  # set on SIGTERM: every answer from now on closes its connection
        self._lock = threading.Lock()

    @staticmethod
    def _long_lived(environ) -> bool:
        return (environ.get("HTTP_UPGRADE", "").lower() == "websocket"
                or (environ.get("PATH_INFO", "").startswith("/socket.io") and environ.get("REQUEST_METHOD") == "GET"))

    def __call__(self, environ, start_response):
        if self._long_lived(environ):
            return self.app(environ, start_response)
        from werkzeug.wsgi import ClosingIterator

        started = time.perf_counter()
        status = {"code": 0}
        environ[LOG_NOTES] = {}  # what the app notes for the log (its office); shared with environ's copies

        def recording_start_response(status_line, headers, exc_info=None):
            status["code"] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        with self._lock:
            self.count += 1
        try:
            return ClosingIterator(self.app(environ, recording_start_response),
                                   [lambda: self._done(environ, status["code"], started)])
        except BaseException:
            self._done(environ, 500, started)
            raise

    def _done(self, environ, status: int, started: float) -> None:
        with self._lock:
            self.count -= 1
        if self.log_requests and access_log.isEnabledFor(logging.INFO):
            access_log.info(json.dumps({
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                "status": status, "ms": round((time.perf_counter() - started) * 1000, 1),
                "office": environ.get(LOG_NOTES, {}).get("office"), "addr": environ.get("REMOTE_ADDR"),
            }, ensure_ascii=False))

    def wait_idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.count > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.count <= 0

    def wait_quiet(self, seconds: float) -> bool:
        """Until no request has been in flight for QUIET_S (a keep-alive client's next request,
        already on its way, is answered too, with `Connection: close`), at most `seconds`."""
        deadline = time.monotonic() + seconds
        quiet_since = None
        while time.monotonic() < deadline:
            if self.count > 0:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET_S:
                return True
            time.sleep(0.02)
        return self.count <= 0


def raise_file_limit(wanted: int) -> int:
    """As many open files as connections (Debian's default soft limit is 1,024); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, wanted))
    if target != resource.RLIM_INFINITY and target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def tune_gc() -> None:
    """Keep the garbage collector from stopping the hall for half a second.

    A server holding thousands of connections (a province's phones: 3,000 of them, ~700,000
    live objects) pays for every full collection with a walk over all of them: 0.4-0.5 s in
    which no board hears a call and requests queue. CPython's default thresholds run one every
    few seconds under load, because every young collection (each 700 new objects) promotes what
    a request in flight holds. So: what start-up loaded is frozen out of the collections for
    good, and young collections come every GC_YOUNG_THRESHOLD new objects (a few seconds at a
    province's peak), so far less of what requests in flight hold is promoted. The cycles a
    request leaves (Werkzeug's URL matcher makes one per request) are still found young, in
    15-30 ms (measured: 50,000 made them rarer but 70-100 ms long). No collection before the
    freeze: it would cost the start ~0.1 s for the little garbage imports leave."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)


def serve(app, config, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl+C."""
    tune_gc()
    inflight = InFlight(app.wsgi_app, log_requests=config.access_log)
    app.wsgi_app = inflight
    if config.access_log:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    files = raise_file_limit(config.max_connections + 256)
    max_connections = max(64, min(config.max_connections, files - 128))
    per_address = 0 if config.proxy_hops else config.max_connections_per_address
    if config.async_mode == "eventlet":
        _serve_eventlet(app, config, host, port, inflight, max_connections, per_address)
    else:
        _serve_threading(app, config, host, port, inflight, max_connections, per_address)


# ----- eventlet -----------------------------------------------------------------------------
class _HeaderTimeout(Exception):
    pass


def _serve_eventlet(app, config, host, port, inflight, max_connections, per_address) -> None:
    import eventlet
    import eventlet.event
    import eventlet.wsgi
    from eventlet.green import socket as green_socket

    # Tickets issued at the same moment share one durable commit (SQLite; see server/storage.py).
    app.extensions["motcua"].storage.group_commits(lambda: eventlet.sleep(0))

    header_timeout = config.header_timeout

    class Protocol(eventlet.wsgi.HttpProtocol):
        """Reads each request line and its headers against one deadline."""

        _timer = None

        def _stop_timer(self):
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _read_request_line(self):
            self._timer = eventlet.Timeout(header_timeout, _HeaderTimeout())
            try:
                return super()._read_request_line()
            except _HeaderTimeout:
                self._stop_timer()
                self.close_connection = 1
                return ""

        def parse_request(self):
            try:
                return super().parse_request()
            except _HeaderTimeout:
                self.close_connection = 1
                return False
            finally:
                self._stop_timer()

        def handle_one_request(self):
            try:
                super().handle_one_request()
            except _HeaderTimeout:
                self.close_connection = 1
            finally:
                self._stop_timer()
            # Let every other connection have its turn before this one reads its next request.
            # Without it a keep-alive client whose next request is already in (a kiosk retrying,
            # a load balancer, wrk) is served again and again without a switch, while the others
            # wait: 10 busy clients saw p50 1.7 ms but p90 0.7 s and p99 1.3 s.
            eventlet.sleep(0)

        def handle_one_response(self):
            if inflight.stopping:
                self.close_connection = 1  # answered with `Connection: close`: the client reconnects elsewhere
            return super().handle_one_response()

    class Pool:
        """eventlet's pool, but a full pool or a greedy address gets a 503 at once instead of
        stopping the accept loop (eventlet's own pool blocks `accept` until a slot frees)."""

        def __init__(self):
            self.pool = eventlet.GreenPool(max_connections)
            self.by_address: Counter = Counter()

        def spawn(self, func, connection):
            address = connection[0][0] if isinstance(connection[0], tuple) else str(connection[0])
            if self.pool.free() == 0 or (per_address and self.by_address[address] >= per_address):
                return eventlet.spawn(_refuse, connection[1])
            self.by_address[address] += 1
            thread = self.pool.spawn(func, connection)
            thread.link(self._release, address)
            return thread

        def _release(self, _thread, address):
            self.by_address[address] -= 1
            if self.by_address[address] <= 0:
                del self.by_address[address]

        def waitall(self):  # only reached if the accept loop failed: stopping ends the process itself
            inflight.wait_idle(STOP_GRACE_S)

    def _refuse(sock):
        try:
            sock.settimeout(1)
            sock.sendall(REFUSAL)
        except OSError:
            pass

    stopping = threading.Event()

    class Listener:
        """The listening socket; `accept` survives running out of file descriptors."""

        def __init__(self, sock):
            self.sock = sock

        def accept(self):
            while True:
                if stopping.is_set():
                    return self._last_ones()
                try:
                    return self.sock.accept()
                except socket.timeout:  # the listening socket waits 0.2 s at a time: SIGTERM is seen at once
                    continue
                except OSError as err:
                    if stopping.is_set():
                        return self._last_ones()
                    if err.errno in _RESOURCE_ERRORS:
                        log.warning("out of file descriptors; refusing new connections for a moment")
                        eventlet.sleep(0.1)
                        continue
                    raise

        def _last_ones(self):
            """Stopping: hand over the connections the kernel already queued (closing the socket
            would reset them; `stop` has closed the door to new ones), then stop listening and wait
            here for the process to end, so eventlet's wsgi.server never tears its connections
            down under a client's request."""
            try:
                self.sock.setblocking(False)
                return self.sock.accept()
            except OSError:
                self.sock.close()
                eventlet.event.Event().wait()

        def __getattr__(self, name):
            return getattr(self.sock, name)

    address = green_socket.getaddrinfo(host, port)[0]
    sock = eventlet.listen(address[4], address[0], backlog=2048)
    sock.settimeout(0.2)

    def stop(*_args):
        if stopping.is_set():
            return
        stopping.set()
        inflight.stopping = True
        stop_new_connections(sock)
        log.info("stopping: no new connections, finishing %d request(s) in flight", inflight.count)
        eventlet.spawn(finish)

    def finish():
        inflight.wait_quiet(STOP_GRACE_S)
        _exit_now()

    signal.signal(signal.SIGTERM, stop)
    try:
        eventlet.wsgi.server(Listener(sock), app, log_output=False, custom_pool=Pool(), protocol=Protocol,
                             socket_timeout=SOCKET_TIMEOUT_S, keepalive=header_timeout)
    except KeyboardInterrupt:
        pass
    _exit_now()


# ----- threading (Werkzeug) ---------------------------------------------------------------------
def _serve_threading(app, config, host, port, inflight, max_connections, per_address) -> None:
    from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

    header_timeout = config.header_timeout

    class Handler(WSGIRequestHandler):
        timeout = SOCKET_TIMEOUT_S

        def handle_one_request(self):
            self.connection.settimeout(header_timeout)  # the request line and headers
            return super().handle_one_request()

        def run_wsgi(self):
            self.connection.settimeout(SOCKET_TIMEOUT_S)  # the body, the response, a websocket
            return super().run_wsgi()

        def log_request(self, *args, **kwargs):  # the access log is written elsewhere
            pass

    class Server(ThreadedWSGIServer):
        daemon_threads = True
        block_on_close = False
        request_queue_size = 2048

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.open: Counter = Counter()
            self.addresses: dict = {}  # accepted socket -> its address
            self.lock = threading.Lock()

        def verify_request(self, request, client_address):
            address = client_address[0] if isinstance(client_address, tuple) else str(client_address)
            with self.lock:
                if sum(self.open.values()) >= max_connections or (per_address and self.open[address] >= per_address):
                    try:
                        request.settimeout(1)
                        request.sendall(REFUSAL)
                    except OSError:
                        pass
                    return False
                self.open[address] += 1
                self.addresses[request] = address
            return True

        def server_close(self):  # Werkzeug's serve_forever ends here
            _serve_the_queued(self)
            super().server_close()

        def shutdown_request(self, request):
            with self.lock:
                address = self.addresses.pop(request, None)
                if address is not None:
                    self.open[address] -= 1
                    if self.open[address] <= 0:
                        del self.open[address]
            super().shutdown_request(request)

    server = Server(host, port, app, handler=Handler)

    def stop(*_args):
        inflight.stopping = True
        log.info("stopping: no new connections, finishing %d request(s) in flight", inflight.count)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    server.socket.close()
    inflight.wait_quiet(STOP_GRACE_S)
    _exit_now()


def _serve_the_queued(server) -> None:
    """Connections the kernel accepted but the server has not: answer them rather than reset them
    by closing the listening socket under them."""
    stop_new_connections(server.socket)
    server.socket.setblocking(False)
    while True:
        try:
            request, address = server.socket.accept()
        except OSError:
            return
        request.setblocking(True)
        if server.verify_request(request, address):
            server.process_request(request, address)
        else:
            server.shutdown_request(request)


_SO_ATTACH_FILTER = 26  # Linux, <asm-generic/socket.h>
_BPF_DROP_ALL = struct.pack("HBBI", 0x06, 0, 0, 0)  # one classic BPF instruction: BPF_RET|BPF_K 0, keep nothing


def stop_new_connections(sock) -> bool:
    """From now on the kernel completes no new TCP handshake on this listening socket, while the
    connections it already queued stay there to be accepted.

    Stopping takes the queued connections, then closes the socket. Without this, a client whose
    handshake completed between the last `accept` and the `close` is reset, its request lost
    (a kiosk's tap during a restart). With it, that client's SYN is dropped, its retry a second
    later is refused (the socket is closed by then) or reaches the restarted server; behind nginx,
    a refused connection goes to the next process, where a reset POST would have been a 502.
    Linux only (a socket filter that keeps nothing, which the kernel also applies to SYNs and
    to a handshake's last ACK); elsewhere returns False and changes nothing."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here: only a stopping server needs it

    program = ctypes.create_string_buffer(_BPF_DROP_ALL)
    try:  # struct sock_fprog {unsigned short len; struct sock_filter *filter;}; the kernel copies it
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, struct.pack("HP", 1, ctypes.addressof(program)))
    except (OSError, ValueError):
        return False
    return True


def _exit_now() -> None:
    """Every commit is durable already; background loops and websockets end with the process."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
