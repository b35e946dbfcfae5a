"""Drawing, encoding and sending tickets away from the server's request handling.

The server's spool (server/printing/) keeps the database; this module only
touches printers. It hands a job (`{"op": "print", "printer": spec, "job_id",
"ticket": TicketPrint, ...}`) to a worker and gets back what happened
(`{"ok": True}` or `{"ok": False, "error": "...", "retryable": bool}`), without
ever blocking the thread or event loop that asked.

Workers (the PRINTER option `worker=`):
  process (default)  `python -m printer.worker`, a child process at a lower CPU
                     priority that draws and sends; replies come back over a pipe.
                     Drawing never competes with requests for the server's GIL, and
                     a busy machine serves requests first.
  thread             an OS thread of the server (eventlet's tpool, or the spool's own
                     thread in threading mode): no second process, but drawing takes
                     the GIL from the requests while it runs.
  inline             the caller's own thread (tests, `motcua print-test`).

Jobs to one printer are done one at a time, in the order given; different
printers do not wait for each other. A dummy printer's bytes stay where they were
printed when the request names a keeper (`keep`, the spool's name) and are read with
`{"op": "kept", "keep": ...}`; without one they travel back in the reply (`data`).
"""
from __future__ import annotations

import atexit
import collections
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from printer.backends import DummyBackend, PrintError, open_backend

log = logging.getLogger(__name__)
FRAME = struct.Struct(">I")
REPLY_HOLD = 0.01  # seconds an answer may wait for others finishing behind it (only in a burst)
REPLY_BATCH = 64  # answers in one frame, at most
WORKER_KINDS = ("process", "thread", "inline")


# ----- what a worker does, wherever it runs ----------------------------------------------
_backends: dict[tuple[str, str], Any] = {}
KEEPERS = 8
_kept: dict[str, collections.deque] = {}  # a spool's name -> its dummy printer's (job id, bytes), oldest first
_kept_lock = threading.Lock()


def _backend(request: dict):
    key = (request["printer"], str(request.get("preview") or ""))
    backend = _backends.get(key)
    if backend is None:
        backend = _backends[key] = open_backend(key[0], preview_folder=key[1] or None)
    return backend


def run_job(request: dict) -> dict:
    """Do one request here and now; never raises."""
    op = request.get("op")
    try:
        if op == "print":
            backend = _backend(request)
            backend.print_ticket(request["ticket"], request["job_id"], connect_timeout=request.get("connect_timeout"))
            reply: dict = {"ok": True}
            if isinstance(backend, DummyBackend):  # its bytes are kept for the spool, or go back
                job_id, data = backend.jobs.pop()
                if request.get("keep"):
                    _keep(request["keep"], job_id, data)
                else:
                    reply["data"] = data
            return reply
        if op == "kept":
            with _kept_lock:
                return {"ok": True, "jobs": list(_kept.get(request.get("keep"), ()))}
        if op == "status":
            return {"ok": True, "status": _backend(request).status(request.get("connect_timeout")).to_dict()}
        if op == "forget":
            from printer.render import forget

            forget()
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}", "retryable": False}
    except PrintError as exc:
        return {"ok": False, "error": exc.message, "retryable": exc.retryable}
    except Exception as exc:  # a bug or an unexpected device error: we cannot know what printed
        log.exception("print worker: %s", op)
        return {"ok": False, "error": f"Lỗi không xác định khi in: {exc}", "retryable": False}


def _keep(keeper: str, job_id: str, data: bytes) -> None:
    """A dummy printer's bytes, kept here for the spool that asked (`keep`: its own name) instead of
    carried back with every answer (35 KB a ticket through the pipe, read on the server's hub).
    The last `DummyBackend.KEEP` jobs of the last `KEEPERS` spools to print (tests build many)."""
    with _kept_lock:
        jobs = _kept.pop(keeper, None)
        if jobs is None:
            jobs = collections.deque(maxlen=DummyBackend.KEEP)
            while len(_kept) >= KEEPERS:
                del _kept[next(iter(_kept))]  # the spool that printed least recently
        _kept[keeper] = jobs
        jobs.append((job_id, data))


def printer_key(request: dict) -> tuple[str, str]:
    return request.get("printer", ""), str(request.get("preview") or "")


# ----- the caller's side ------------------------------------------------------------------
class Pending:
    """A request on its way. `wait()` blocks only the greenlet or thread that calls it."""

    def __init__(self):
        self._done = threading.Event()  # green under eventlet's monkey patching, as the callers are
        self.reply: dict | None = None

    def resolve(self, reply: dict) -> None:
        self.reply = reply
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> dict | None:
        self._done.wait(timeout)
        return self.reply


def _gone(op: str | None) -> dict:
    # The worker died with the job in hand: it may or may not be on paper.
    return {"ok": False, "retryable": False,
            "error": "Tiến trình in dừng đột ngột; vé có thể đã in hoặc chưa" if op == "print"
            else "Tiến trình in dừng đột ngột"}


class InlineWorker:
    kind = "inline"

    def submit(self, request: dict) -> Pending:
        pending = Pending()
        pending.resolve(run_job(request))
        return pending

    def submit_all(self, requests: list[dict]) -> list[Pending]:
        return [self.submit(request) for request in requests]

    def close(self) -> None:
        pass


class ThreadWorker:
    """OS threads of this process: eventlet's tpool under eventlet, else one thread per printer."""

    kind = "thread"

    def __init__(self):
        self._tpool = None
        if "eventlet" in sys.modules:  # imported (and patched) by `motcua run` under eventlet, never here
            import eventlet.patcher

            if eventlet.patcher.is_monkey_patched("thread"):
                from eventlet import tpool

                self._tpool = tpool
        # One queue and one feeder per printer: its jobs go one at a time, in order (a printer's
        # lock is a green lock under eventlet, and two OS threads must never wait on one).
        self._queues: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def submit(self, request: dict) -> Pending:
        import queue

        pending = Pending()
        key = printer_key(request)
        with self._lock:
            jobs = self._queues.get(key)
            if jobs is None:
                jobs = self._queues[key] = queue.Queue()
                threading.Thread(target=self._feed, args=(jobs,), name=f"print {key[0]}", daemon=True).start()
        jobs.put((request, pending))
        return pending

    def submit_all(self, requests: list[dict]) -> list[Pending]:
        return [self.submit(request) for request in requests]

    def _feed(self, jobs) -> None:
        while True:
            request, pending = jobs.get()
            if self._tpool is not None:
                pending.resolve(self._tpool.execute(run_job, request))  # this green thread waits, the hub runs
            else:
                pending.resolve(run_job(request))

    def close(self) -> None:
        pass


class ProcessWorker:
    """`python -m printer.worker` as a child process; one serves every printer of this process."""

    kind = "process"
    # A busy machine answers kiosks and boards first; printing takes what is left. On Linux the
    # worker is SCHED_IDLE: it gets a core only when nothing else wants it, so it never preempts
    # the server (at `nice 10` it did, and the server spent 6-8 % more CPU per ticket under load
    # for it). Elsewhere, nice 10.
    nice = 10
    idle = True

    def __init__(self):
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._pending: dict[int, tuple[Pending, str | None]] = {}
        self._next_id = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _ensure_started(self) -> subprocess.Popen:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            return proc
        proc = subprocess.Popen(
            [sys.executable, "-m", "printer.worker", "--nice", str(self.nice)] + (["--idle"] if self.idle else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
            cwd=str(Path(__file__).resolve().parents[1]), close_fds=True,
        )
        self._proc = proc
        threading.Thread(target=self._read_replies, args=(proc,), name="motcua-print-replies",
                         daemon=True).start()
        return proc

    def start(self) -> None:
        with self._lock:
            self._ensure_started()

    def submit(self, request: dict) -> Pending:
        return self.submit_all([request])[0]

    def submit_all(self, requests: list[dict]) -> list[Pending]:
        """Several requests in one frame: one pickle and one write for a batch the spool claimed."""
        pendings = [Pending() for _ in requests]
        with self._lock:
            numbered = []
            for request in requests:
                self._next_id += 1
                numbered.append({**request, "id": self._next_id})
            body = pickle.dumps(numbered, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                proc = self._ensure_started()
            except OSError as exc:  # nothing was sent anywhere: safe to try again later
                log.warning("print worker cannot start: %s", exc)
                for pending in pendings:
                    pending.resolve({"ok": False, "retryable": True,
                                     "error": f"Không khởi động được tiến trình in: {exc}"})
                return pendings
            for request, pending in zip(numbered, pendings):
                self._pending[request["id"]] = (pending, request.get("op"))
            try:
                proc.stdin.write(FRAME.pack(len(body)) + body)
                proc.stdin.flush()
            except (OSError, ValueError) as exc:  # the child is going; its reader answers for it
                log.warning("print worker unreachable: %s", exc)
                for request, pending in zip(numbered, pendings):
                    if self._pending.pop(request["id"], None) is not None:
                        pending.resolve(_gone(request.get("op")))
        return pendings

    def _read_replies(self, proc: subprocess.Popen) -> None:
        stream = proc.stdout
        try:
            while (replies := _read_frame(stream)) is not None:  # a list: replies that finished together
                with self._lock:
                    answered = [(self._pending.pop(reply.pop("id", None), None), reply) for reply in replies]
                for waiting, reply in answered:
                    if waiting is not None:
                        waiting[0].resolve(reply)
        except Exception:  # a broken pipe or a bad frame: the child is no use any more
            log.exception("print worker replies")
        finally:
            with self._lock:
                if self._proc is proc:
                    self._proc = None
                left, self._pending = self._pending, {}
            try:
                proc.kill()
            except OSError:
                pass
            for pending, op in left.values():
                pending.resolve(_gone(op))

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.stdin.close()  # the child finishes the job in hand and leaves
            except OSError:
                pass


def _read_frame(stream) -> Any:
    """One length-prefixed message from the other end of the pipe (a list of requests, or of
    replies); None once it has closed."""
    head = _read_exactly(stream, FRAME.size)
    body = _read_exactly(stream, FRAME.unpack(head)[0]) if head is not None else None
    return pickle.loads(body) if body is not None else None


def _read_exactly(stream, count: int) -> bytes | bytearray | None:
    """Into one buffer: a frame of a burst's replies (a dummy printer's bytes, 35 KB a ticket) comes
    in many pipe-sized reads, and adding each to the bytes read so far copied them all again."""
    data = bytearray(count)
    view = memoryview(data)
    got = 0
    while got < count:
        read = stream.readinto(view[got:])
        if not read:
            return None
        got += read
    return data


_shared_process_worker: ProcessWorker | None = None
_shared_lock = threading.Lock()


def open_worker(kind: str):
    """The worker of that kind; the process worker is one per server process, shared by its spools."""
    global _shared_process_worker
    if kind == "inline":
        return InlineWorker()
    if kind == "thread":
        return ThreadWorker()
    if kind != "process":
        raise ValueError(f"print worker must be one of {', '.join(WORKER_KINDS)}, not {kind!r}")
    with _shared_lock:
        if _shared_process_worker is None:
            _shared_process_worker = ProcessWorker()
            atexit.register(_shared_process_worker.close)
        return _shared_process_worker


# ----- the child process -------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    import argparse
    import queue

    parser = argparse.ArgumentParser(description="motcua print worker (started by the server)")
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--idle", action="store_true", help="run only on a core nothing else wants (Linux)")
    args = parser.parse_args(argv)
    if args.nice:
        try:
            os.nice(args.nice)
        except OSError:
            pass
    if args.idle and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:  # a container that forbids it: nice alone
            pass
    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    outbox: queue.Queue = queue.Queue()  # answers on their way back, in the order they finished
    queues: dict[tuple[str, str], queue.Queue] = {}
    threads: list[threading.Thread] = []
    leaving = threading.Event()  # the server went away: start nothing new

    def reply(request_id, answer: dict) -> None:
        outbox.put({**answer, "id": request_id})

    def send_replies() -> None:
        """One frame for the answers that finish close together. While a printer has jobs waiting
        (a burst: a fast printer finishes one every millisecond or two), the first answer waits
        `REPLY_HOLD` for the next ones, so the server's reader and spool wake once for a handful
        of tickets instead of once each. A lone ticket's answer goes at once."""
        while True:
            answers = [outbox.get()]
            if answers[0] is None:
                return
            if any(jobs.qsize() for jobs in list(queues.values())):
                time.sleep(REPLY_HOLD)
            while len(answers) < REPLY_BATCH:
                try:
                    answers.append(outbox.get_nowait())
                except queue.Empty:
                    break
            done = answers[-1] is None
            answers = [answer for answer in answers if answer is not None]
            body = pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                replies.write(FRAME.pack(len(body)) + body)
                replies.flush()
            except OSError:  # nobody is listening any more
                leaving.set()
                return
            if done:
                return

    sender = threading.Thread(target=send_replies, name="replies", daemon=True)
    sender.start()

    def serve(jobs: queue.Queue) -> None:
        while True:
            request = jobs.get()
            if request is None or leaving.is_set():
                return
            reply(request.get("id"), run_job(request))

    while (frame := _read_frame(requests)) is not None:
        for request in frame:  # a batch of requests, in the order they were claimed
            if request.get("op") in ("forget", "kept"):  # nothing to do with a printer: answered at once
                reply(request.get("id"), run_job(request))
                continue
            key = printer_key(request)
            jobs = queues.get(key)
            if jobs is None:  # one thread per printer: a slow printer holds up only its own jobs
                jobs = queues[key] = queue.Queue()
                thread = threading.Thread(target=serve, args=(jobs,), name=f"print {key[0]}", daemon=True)
                thread.start()
                threads.append(thread)
            jobs.put(request)
    # The server went away: finish the job each printer has in hand (a ticket cut in half is worse)
    # and start no other; those stay `printing` in the database, and a restart fails them for the admin.
    leaving.set()
    for jobs in queues.values():
        jobs.put(None)
    for thread in threads:
        thread.join(timeout=30)
    outbox.put(None)  # the answers of those last jobs go before the child leaves
    sender.join(timeout=5)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s print-worker %(levelname)s %(message)s")
    sys.exit(main())
