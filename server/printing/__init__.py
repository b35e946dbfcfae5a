"""The print spool: a committed ticket -> a stored print job -> paper, at most once.

A ticket's first print job is written in the ticket's own transaction (an
engine issue hook: one commit), so a printer that is off, unplugged or out of
paper never loses a ticket, and a ticket never exists without its job. The
kiosk's answer never waits for drawing or sending: it says the print is
`queued`, and the job is drawn, encoded and sent by a print worker
(printer/worker.py: a child process by default) while this spool, on the
server's own thread or event loop, only claims jobs and records outcomes (every
database write stays where the other writes are, never in a worker thread).
When a first print ends, or goes back to waiting after a failure, the kiosk
hears `print_status` {token, status, printed} in the room `ticket:<token>`.

Guarantees (see docs/printing.md):
- One first-print job per ticket: its id is derived from the ticket's token, so
  a retried request finds the same job instead of printing again.
- A job is claimed (`pending` -> `printing`) in a committed transaction before
  a byte is sent; only the one who claimed it sends it.
- "Never printed twice" beats "always printed". A failed send goes back to
  `pending` (and is retried with backoff) only when the backend proves nothing
  printable reached the printer: connection refused, the printer said it had no
  paper or an open cover before we sent anything, or it hung up before the job.
  A send that broke midway, or a printer that stopped answering after the job,
  leaves the job `failed` for the admin, who can reprint (the paper then says
  "In lại"). A job still `printing` when the server starts again (killed
  mid-send) is marked `failed` for the same reason.
- A first print is retried only while the citizen may still be at the kiosk
  (`retry_for`, 10 minutes) and the ticket is still waiting; after that it
  fails so a ticket nobody waits for does not come out of the kiosk later.
- Every failure is an `Event` (kind `print_failed`, the error in `data`).
- Jobs to the server's printer are claimed shortly before they are sent: only as many
  as the printer finishes in half a second (two for a real printer), several in one
  transaction when several tickets wait; outcomes that arrive together are recorded
  together with the next claims. A walk-in ticket's paper is drawn from what its issuing
  request had in hand (`Paper`: its code, field, office and people ahead, as the kiosk was
  answered); a job handed over without it (a retry, after a restart) reads the ticket back.

Kiosks whose device settings say `"printer": "agent"` print through a printer
agent on the kiosk PC (printer/agent.py) over the `/printer` Socket.IO namespace;
the agent keeps its own journal of printed job ids, so re-sending a job after a
reconnect is safe, and the job is `printed` when the agent acknowledges it.

One concern a module, one class (`PrintService`) that the app and the API use:
    jobs.py     job ids, statuses, the statements the spool runs, a new ticket's `Paper`
    base.py     settings, a job's rules, one attempt waited for, outcomes, what goes on paper
    agents.py   printer agents on kiosk PCs and their `/printer` namespace
    spool.py    the server's own printer: dispatch, claims and outcomes in batches, retries
    service.py  the kiosk's and the admin's calls
"""
from .agents import agent_room, register_printer_namespace
from .jobs import JOB_NAMESPACE, NAMESPACE, OPEN_JOB_STATUSES, STATUS_ORDER, Paper, first_print_job_id
from .service import PrintService

__all__ = ["JOB_NAMESPACE", "NAMESPACE", "OPEN_JOB_STATUSES", "STATUS_ORDER", "Paper", "PrintService", "agent_room",
           "first_print_job_id", "register_printer_namespace"]
