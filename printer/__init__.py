"""Tickets on paper: ticket data -> 1-bit picture -> ESC/POS bytes -> a printer.

No Flask in here: the server's spool (server/printing/), the printer agent
on a kiosk PC and `motcua print-test` all use the same few calls:

    picture = render_ticket(ticket, PaperWidth.MM80)
    data = encode_ticket(picture, qr_native=True)
    open_backend("tcp://192.168.1.50:9100").send(data, picture)
"""
import importlib

_WHERE = {
    "TicketPrint": "printer.ticket",
    "PAPER_DOTS": "printer.ticket",
    "RenderedTicket": "printer.render",
    "render_ticket": "printer.render",
    "encode_ticket": "printer.encode",
    "Backend": "printer.backends",
    "PrinterSettings": "printer.backends",
    "PrinterStatus": "printer.backends",
    "PrintError": "printer.backends",
    "open_backend": "printer.backends",
    "parse_printer_spec": "printer.backends",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    # Loaded on first use: the server hands tickets to its print worker and never needs Pillow itself.
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'printer' has no attribute {name!r}")
