"""Tickets on paper: ticket data -> 1-bit picture -> ESC/POS bytes -> a printer.

No Flask in here: the server's spool (server/printing.py), the printer agent
on a kiosk PC and `motcua print-test` all use the same few calls:

    picture = render_ticket(ticket, PaperWidth.MM80)
    data = encode_ticket(picture, qr_native=True)
    open_backend("tcp://192.168.1.50:9100").send(data, picture)
"""
from printer.ticket import TicketPrint
from printer.render import PAPER_DOTS, RenderedTicket, render_ticket
from printer.encode import encode_ticket
from printer.backends import (
    Backend,
    PrinterSettings,
    PrinterStatus,
    PrintError,
    open_backend,
    parse_printer_spec,
)

__all__ = [
    "TicketPrint",
    "PAPER_DOTS",
    "RenderedTicket",
    "render_ticket",
    "encode_ticket",
    "Backend",
    "PrinterSettings",
    "PrinterStatus",
    "PrintError",
    "open_backend",
    "parse_printer_spec",
]
