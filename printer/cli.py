"""What `motcua print-test` and `motcua printer-agent` run (wired by server/cli.py)."""
from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

from printer.backends import PrintError, open_backend, parse_printer_spec
from printer.render import render_ticket
from printer.ticket import sample_ticket


def print_test(printer_spec: str | None, preview: str | None) -> int:
    """Print a sample Vietnamese ticket on PRINTER, or draw it into `preview` (a PNG path)."""
    try:
        settings = parse_printer_spec(printer_spec, preview_folder=Path.cwd() / "prints")
    except ValueError as exc:
        print(f"Lỗi cấu hình máy in: {exc}", file=sys.stderr)
        return 2
    ticket = sample_ticket()
    if preview:
        render_ticket(ticket, settings.width).full().save(preview, format="PNG")
        print(f"Đã vẽ phiếu mẫu ({settings.width} điểm ngang) vào {preview}")
        return 0
    backend = open_backend(settings)
    status = backend.status()
    if status.problem_vi():
        print(f"Cảnh báo: {status.problem_vi()}", file=sys.stderr)
    job_id = f"print-test-{uuid.uuid4().hex[:8]}"
    try:
        backend.print_ticket(ticket, job_id)
    except PrintError as exc:
        print(f"Không in được: {exc.message}", file=sys.stderr)
        return 1
    where = f" ({Path(settings.target) / (job_id + '.png')})" if settings.kind == "preview" else ""
    print(f"Đã gửi phiếu mẫu tới {settings.spec}{where}")
    return 0


def agent_main(server: str, token: str, printer_spec: str, state_dir: str | None = None) -> int:
    from printer.agent import PrinterAgent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        agent = PrinterAgent(server, token, printer_spec, state_dir)
    except ValueError as exc:
        print(f"Lỗi cấu hình máy in: {exc}", file=sys.stderr)
        return 2
    print(f"Trình in phiếu đang chạy: máy chủ {server}, máy in {agent.backend.settings.spec}", flush=True)
    try:
        agent.run()
    except KeyboardInterrupt:
        agent.stop()
    return 0
