"""The `motcua` command: run, init, user add, device pair, office add|list, check, backup, demo-day,
print-test, printer-agent.

This module imports nothing heavy at the top: `motcua run` must monkey-patch
eventlet before Flask, SQLAlchemy or a database driver is imported.
"""
from __future__ import annotations

import argparse
import os
import sys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="motcua", description="Hệ thống lấy số và gọi số cho Bộ phận một cửa.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="chạy máy chủ (serve)")
    run.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    init = sub.add_parser("init", help="tạo hoặc nâng cấp cơ sở dữ liệu (create or migrate the database)")
    init.add_argument("--seed", metavar="FILE", help="JSON file: office, fields, counters")

    user = sub.add_parser("user", help="người dùng (users)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="thêm người dùng")
    add.add_argument("name")
    add.add_argument("--role", choices=["clerk", "admin", "province"], required=True)
    add.add_argument("--office", metavar="SLUG", help="the office of a clerk or admin (needed with several offices)")
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    device = sub.add_parser("device", help="thiết bị (devices)")
    device_sub = device.add_subparsers(dest="device_command", required=True)
    pair = device_sub.add_parser("pair", help="tạo mã ghép nối (pairing code)")
    pair.add_argument("kind", choices=["kiosk", "display", "tablet"])
    pair.add_argument("--office", metavar="SLUG", help="the device's office (needed with several offices)")
    pair.add_argument("--counter", type=int)
    pair.add_argument("--name", default="")
    pair.add_argument("--url", default=None, help="the server's address as devices see it")

    office = sub.add_parser("office", help="cơ quan (offices of a province)")
    office_sub = office.add_subparsers(dest="office_command", required=True)
    office_add = office_sub.add_parser("add", help="thêm một cơ quan")
    office_add.add_argument("slug", help="e.g. phuong-ba-dinh (a-z, 0-9, -)")
    office_add.add_argument("--name", required=True)
    office_add.add_argument("--unit", default="")
    office_add.add_argument("--seed", metavar="FILE", help="JSON file: its fields, counters and rating scale")
    office_sub.add_parser("list", help="liệt kê các cơ quan")

    demo = sub.add_parser("demo-day", help="mô phỏng một buổi sáng làm việc (demo data for reports)")
    demo.add_argument("--date", help="YYYY-MM-DD, default: yesterday")
    demo.add_argument("--visitors", type=int, default=150)
    demo.add_argument("--offices", type=int, default=0, metavar="N",
                      help="make a small province of N offices (demo fields) and simulate each")

    pt = sub.add_parser("print-test", help="in thử một phiếu (print a sample ticket)")
    pt.add_argument("--printer", metavar="SPEC")
    pt.add_argument("--preview", metavar="FILE.png")

    check = sub.add_parser("check", help="kiểm tra cấu hình, cơ sở dữ liệu, Redis và máy in (exit 0/1, for monitoring)")
    check.add_argument("--json", action="store_true", help="one JSON object instead of one line per check")

    backup = sub.add_parser("backup", help="sao lưu cơ sở dữ liệu (SQLite: online backup; PostgreSQL: pg_dump)")
    backup.add_argument("file", metavar="FILE", help="where the copy goes (replaced only once the new copy is whole)")

    agent = sub.add_parser("printer-agent", help="máy in đặt ở máy kiosk khác máy chủ")
    agent.add_argument("--server", required=True)
    agent.add_argument("--token", required=True)
    agent.add_argument("--printer", required=True, metavar="SPEC")
    return p


ROLE_NAMES = {"clerk": "cán bộ", "admin": "quản trị", "province": "cấp tỉnh"}


def _async_mode_from_env() -> str:
    """ASYNC_MODE from the environment or ./.env, read without importing anything."""
    mode = os.environ.get("ASYNC_MODE")
    if mode is None and os.path.isfile(".env"):
        with open(".env", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key.strip() == "ASYNC_MODE":
                    mode = value.strip().strip("'\"")
    return mode or "eventlet"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run" and _async_mode_from_env() == "eventlet":
        import warnings

        # We know (docs/deployment.md): ASYNC_MODE=threading is the way off eventlet. Its warning's
        # text starts with a newline, and the filter's pattern is matched from the start.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        # An office LAN resolves nothing worth a green DNS resolver; skipping it saves ~0.2 s of start.
        os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
        # psycopg's C wait would block eventlet's hub while a query waits on a lock (the whole
        # process stops answering): wait with select(), which eventlet makes green. Not in
        # threading mode, where select() breaks above file descriptor 1024.
        os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
        import eventlet

        eventlet.monkey_patch()
    from .config import Config, ConfigError

    try:
        config = Config.from_env()
    except ConfigError as err:
        if args.command == "check":  # a monitoring system reads this as one more failed check
            import json

            from .ops import checks_as_json, configuration_failed, format_checks

            failed = configuration_failed(str(err))
            print(json.dumps(checks_as_json(failed), ensure_ascii=False) if args.json else format_checks(failed))
            return 1
        print(f"Cấu hình sai: {err}", file=sys.stderr)
        return 2
    handler = {
        "run": _run, "init": _init, "user": _user, "device": _device, "office": _office,
        "print-test": _print_test, "printer-agent": _printer_agent, "demo-day": _demo_day,
        "check": _check, "backup": _backup,
    }[args.command]
    return handler(config, args) or 0


def _run(config, args) -> int:
    import time

    started = time.perf_counter()
    from . import create_app
    from .extensions import socketio
    from .setup import ensure_first_admin, prepare

    storage = prepare(config)
    admin = ensure_first_admin(storage)
    storage.dispose()
    if admin:  # shown at once, so a failed start cannot swallow the only copy of the password
        print(f"Tài khoản quản trị đầu tiên: {admin[0]} / mật khẩu: {admin[1]} (chỉ hiện một lần)", flush=True)
    app = create_app(config)
    services = app.extensions["motcua"]
    if services.printing is not None and hasattr(services.printing, "start"):
        services.printing.start()
    from .events import start_background

    start_background(socketio, services.engine)
    _banner(config, args, admin, time.perf_counter() - started)
    from .serving import serve

    serve(app, config, args.host, args.port)
    return 0


def _banner(config, args, admin, startup_s: float) -> None:
    host = "localhost" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{host}:{args.port}"
    lines = [
        f"motcua đang chạy ({config.async_mode}, {config.database_url.split('://')[0]}, máy in: {config.printer}) "
        f"— khởi động trong {startup_s:.2f} s",
        f"  Máy lấy số (kiosk):        {base}/kiosk",
        f"  Màn hình gọi số (display): {base}/display",
        f"  Quầy cán bộ (counter):     {base}/counter",
        f"  Máy đánh giá (rating):     {base}/rating",
        f"  Quản trị (admin):          {base}/admin",
        f"  API:                       {base}/api/openapi.json",
    ]
    if admin:
        lines += [
            "",
            "  Tài khoản quản trị đầu tiên (chỉ hiện một lần, hãy đổi mật khẩu sau khi đăng nhập):",
            f"    tên đăng nhập: {admin[0]}",
            f"    mật khẩu:      {admin[1]}",
        ]
    else:
        lines.append("  Đăng nhập bằng tài khoản đã tạo; thêm cán bộ: motcua user add TEN --role clerk")
    lines.append("  Nhấn Ctrl+C để dừng.")
    print("\n".join(lines), flush=True)


def _init(config, args) -> int:
    from .setup import SeedError, ensure_first_admin, prepare

    try:
        storage = prepare(config, seed_file=args.seed)
    except SeedError as err:
        print(f"Lỗi: {err}", file=sys.stderr)
        return 2
    print(f"Cơ sở dữ liệu đã sẵn sàng: {config.database_url}")
    admin = ensure_first_admin(storage)
    if admin:
        print(f"Tài khoản quản trị đầu tiên: {admin[0]} / mật khẩu: {admin[1]} (chỉ hiện một lần)")
    return 0


def _user(config, args) -> int:
    import getpass

    from .auth import AuthError, create_user
    from .setup import prepare

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Mật khẩu: ")
        if password != getpass.getpass("Nhập lại mật khẩu: "):
            print("Hai lần nhập mật khẩu không khớp.", file=sys.stderr)
            return 2
    storage = prepare(config)
    try:
        office = None if args.role == "province" else _office_of(storage, config, args.office)
        user = create_user(storage, args.name, password, args.role, args.display_name,
                           office_id=office.id if office else None)
    except (AuthError, LookupError) as err:
        print(f"Lỗi: {err}", file=sys.stderr)
        return 2
    print(f"Đã tạo tài khoản {ROLE_NAMES.get(args.role, args.role)} {user.username}.")
    return 0


def _device(config, args) -> int:
    from .auth import AuthError, create_pairing, pairing_url
    from .setup import prepare

    storage = prepare(config)
    try:
        office = _office_of(storage, config, args.office)
        device, code = create_pairing(storage, args.kind, args.counter, args.name, office_id=office.id)
    except (AuthError, LookupError) as err:
        print(f"Lỗi: {err}", file=sys.stderr)
        return 2
    base, how = _device_base_url(args.url, config.public_url)
    if _offices(storage, config).many():  # the device's own office in the link (bare paths: the default one)
        base = f"{base}/o/{office.slug}"
    print(f"Mã ghép nối: {code} (dùng một lần, hết hạn sau 24 giờ)")
    print(f"Mở trên thiết bị: {pairing_url(base, args.kind, code)}")
    print(f"  (địa chỉ máy chủ {base}: {how})")
    return 0


def _device_base_url(url: str | None, public_url: str | None) -> tuple[str, str]:
    """Where a tablet or kiosk reaches this server, and how that was found (said to the admin)."""
    if url:
        return url.rstrip("/"), "theo tham số --url"
    if public_url:
        return public_url.rstrip("/"), "theo PUBLIC_URL"
    port = os.environ.get("PORT", "8000")  # as `motcua run` chooses it
    address = lan_address()
    if address:
        return f"http://{address}:{port}", ("địa chỉ mạng LAN của máy này; nếu thiết bị vào máy chủ bằng địa chỉ "
                                            "khác, hãy đặt PUBLIC_URL")
    return f"http://localhost:{port}", ("không tìm thấy địa chỉ mạng LAN, liên kết chỉ mở được trên chính máy này; "
                                        "hãy đặt PUBLIC_URL, ví dụ PUBLIC_URL=http://192.168.1.10:8000")


def lan_address() -> str | None:
    """This machine's IPv4 address on the office network, found without sending anything: a UDP
    socket "connected" to a private address only asks the kernel which interface would route
    there. Falls back to what the host name resolves to; None when all is loopback."""
    import socket

    for target in ("10.254.254.254", "192.168.254.254", "172.16.254.254"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                address = probe.getsockname()[0]
        except OSError:
            continue  # no route there (an office LAN without a gateway): try the next
        if address and not address.startswith(("127.", "0.")):
            return address
    try:
        resolved = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return None
    for *_, sockaddr in resolved:
        if not sockaddr[0].startswith(("127.", "0.")):
            return sockaddr[0]
    return None


def _offices(storage, config):
    from .engine import Offices

    return Offices(storage, config.default_office)


def _office_of(storage, config, slug: str | None):
    """The office a command acts in: the one named, else the only (or default) one."""
    offices = _offices(storage, config)
    if slug:
        office = offices.by_slug(slug)
        if office is None:
            raise LookupError(f"Không có cơ quan “{slug}”. Xem danh sách: motcua office list")
        return office
    if offices.many():
        raise LookupError("Có nhiều cơ quan: hãy ghi --office SLUG (xem: motcua office list).")
    office = offices.default()
    if office is None:
        raise LookupError("Chưa có cơ quan nào: hãy chạy “motcua init”.")
    return office


def _office(config, args) -> int:
    from .administration import AdminError, AdminService
    from .engine import QueueEngine
    from .setup import SeedError, apply_seed, load_seed, prepare

    storage = prepare(config)
    service = AdminService(storage, QueueEngine(storage, config.tz, default_office=config.default_office))
    if args.office_command == "list":
        default = _offices(storage, config).default()
        for office in service.offices():
            marks = (" (mặc định)" if default and office["slug"] == default.slug else "") + \
                    ("" if office["active"] else " (đã ngừng)")
            print(f"{office['slug']}\t{office['name']}\t{office['unit']}{marks}")
        return 0
    try:
        seed = load_seed(args.seed) if args.seed else None
        office = service.add_office({"slug": args.slug, "name": args.name, "unit": args.unit})
        if seed is not None:
            seed = {**seed, "office": {"name": args.name, "unit": args.unit or office["unit"]}}
            apply_seed(storage, seed, office=args.slug)
    except (AdminError, SeedError) as err:
        print(f"Lỗi: {err}", file=sys.stderr)
        return 2
    print(f"Đã thêm cơ quan {office['slug']}: {office['name']}."
          + ("" if args.seed else " Chưa có lĩnh vực nào: thêm trong trang quản trị hoặc dùng --seed."))
    return 0


def _demo_day(config, args) -> int:
    import datetime as dt

    from .demo import simulate_day
    from .setup import prepare

    storage = prepare(config)
    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.datetime.now(config.tz).date() - dt.timedelta(days=1)
    except ValueError:
        print("Ngày phải có dạng YYYY-MM-DD.", file=sys.stderr)
        return 2
    if args.offices:
        from .demo import make_province

        for n, slug in enumerate(make_province(storage, args.offices)):
            result = simulate_day(storage, config.tz, day, args.visitors, office=slug, seed=7 + n)
            print(f"{slug}: đã mô phỏng ngày {result['day']}: {result['issued']} phiếu, "
                  f"{result['served']} lượt phục vụ.")
        return 0
    result = simulate_day(storage, config.tz, day, args.visitors)
    print(f"Đã mô phỏng ngày {result['day']}: {result['issued']} phiếu, {result['served']} lượt phục vụ.")
    return 0


def _check(config, args) -> int:
    import json

    from .ops import checks_as_json, format_checks, run_checks

    checks = run_checks(config)
    if args.json:
        print(json.dumps(checks_as_json(checks), ensure_ascii=False))
    else:
        print(format_checks(checks))
    return 1 if any(c.failed for c in checks) else 0


def _backup(config, args) -> int:
    from .ops import BackupError, backup

    try:
        done = backup(config, args.file)
    except BackupError as err:
        print(f"Lỗi: {err}", file=sys.stderr)
        return 1
    tickets = f", {done.tickets} phiếu" if done.tickets is not None else ""
    print(f"Đã sao lưu vào {done.path} ({done.bytes // 1024} KB{tickets}, {done.seconds:.1f} s; {done.how})")
    return 0


def _print_test(config, args) -> int:
    from printer.cli import print_test

    return print_test(args.printer or config.printer, args.preview)


def _printer_agent(config, args) -> int:
    from printer.cli import agent_main

    return agent_main(args.server, args.token, args.printer)


if __name__ == "__main__":
    sys.exit(main())
