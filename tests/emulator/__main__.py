"""``python -m tests.emulator --port 0 --api-key KEY [--generate N] [--ssh-port 0] [--tls-cert C --tls-key K] ...``: run the emulator until SIGTERM/SIGINT
(or until the process given by ``--watch-pid`` is gone)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Optional

from .server import Emulator


def _parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description="Pinggy API emulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("PINGGY_API_KEY"), help="default: $PINGGY_API_KEY")
    parser.add_argument("--generate", type=int, default=0, metavar="N", help="generate N active sessions")
    parser.add_argument("--history-count", type=int, default=None, metavar="M", help="history records (default 2*N)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fixture", type=Path, help='JSON file {"active": [...], "history": [...]}')
    parser.add_argument("--today", type=date.fromisoformat, help="freeze today's UTC date (YYYY-MM-DD)")
    parser.add_argument("--page-size-cap", type=int, default=2000)
    parser.add_argument("--ready-file", type=Path, help="write the API URL (and the SSH front) here once listening")
    parser.add_argument("--ssh-port", type=int, help="also run the SSH front for ssh -R tunnels on 127.0.0.1 (0 picks a free port; needs asyncssh)")
    parser.add_argument("--ssh-keepalive-interval", type=float, default=1.0, metavar="SECONDS", help="SSH front keepalive interval (0 = off)")
    parser.add_argument("--ssh-keepalive-count-max", type=int, default=3, metavar="N", help="unanswered keepalives before a client is dropped")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve HTTPS with this certificate (chain) file; needs --tls-key")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="the private key of --tls-cert")
    parser.add_argument("--watch-pid", type=int, metavar="PID",
                        help="also stop once process PID is gone (checked every 0.5 s), so the emulator never outlives its user")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("--api-key or PINGGY_API_KEY is required")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    return args


def _write_atomically(path: Path, text: str) -> None:
    # Readers polling for the file must never see it half written.
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as handle:
        handle.write(text)
    os.replace(handle.name, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    try:  # a zombie (exited, not yet reaped by its parent) is gone too
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def main(argv: Optional[list[str]] = None) -> int:
    args = _parse_args(argv)
    # Block the stop signals before the server thread starts (threads inherit the mask) so that
    # sigwait() in this thread receives them instead of interrupting a request.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        emulator = Emulator(args.api_key, host=args.host, port=args.port, generate=args.generate,
                            history_count=args.history_count, seed=args.seed, fixture=args.fixture,
                            today=args.today, page_size_cap=args.page_size_cap, ssh_port=args.ssh_port,
                            ssh_keepalive_interval=args.ssh_keepalive_interval, ssh_keepalive_count_max=args.ssh_keepalive_count_max,
                            tls_cert=args.tls_cert, tls_key=args.tls_key).start()
    except (OSError, ValueError, ImportError) as error:
        print(f"Pinggy API emulator: cannot start: {error}", file=sys.stderr)
        return 2
    print(f"Pinggy API emulator: {emulator.url}", flush=True)
    ready = [emulator.url]  # readers take the first line as the API URL
    if emulator.ssh_port is not None:
        print(f"Pinggy SSH front: 127.0.0.1:{emulator.ssh_port}", flush=True)
        ready.append(f"ssh 127.0.0.1:{emulator.ssh_port}")
    if args.ready_file:
        _write_atomically(args.ready_file, "".join(f"{line}\n" for line in ready))
    if args.watch_pid is None:
        signal.sigwait(stop_signals)
    else:
        while signal.sigtimedwait(stop_signals, 0.5) is None and _alive(args.watch_pid):
            pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
