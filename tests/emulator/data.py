"""Deterministic data for the Pinggy API emulator: record shapes, defaults and generation."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

MODES = ("http", "tcp", "tls", "tlstcp", "udp")
PORT_MODES = ("tcp", "tlstcp", "udp")  # modes whose tunnels expose a port (http/tls use 443 implicitly)
TOKEN_NAMES = ("prod", "staging", "ci", "dev")
WORDS = ("alpha", "bravo", "cedar", "delta", "ember", "falcon", "granite", "harbor", "indigo", "juniper")
USER_ID = 4490909
USER_EMAIL = "emulator@example.com"
HISTORY_WINDOW_DAYS = 60

Record = dict[str, Any]


def format_timestamp(moment: datetime) -> str:
    """Format like the API: ``2024-08-23T04:04:36.083+00:00`` (UTC, milliseconds)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_timestamp(text: str) -> datetime:
    """Parse an API timestamp into an aware UTC datetime; ValueError if it is not one."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


def now_on(today: date) -> datetime:
    """The current time of day on ``today`` so a frozen date still gets moving clocks."""
    return datetime.combine(today, datetime.now(timezone.utc).time(), timezone.utc)


def _anchor(today: date) -> datetime:
    # Generated data is anchored at the midnight that starts "today": it depends only on (seed, today), and no
    # generated session starts or ends after the time it is served (now_on(today) is never before that midnight).
    return datetime.combine(today, time(0), timezone.utc)


# Hex digits from getrandbits: realistic enough and much faster than choices() for 50,000 records.
def _token(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}X}"


def _slug(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def _port(rng: random.Random) -> int:
    return 10000 + int(rng.random() * 50001)


def _subdomain(rng: random.Random, mode: str, index: int) -> str:
    if mode in PORT_MODES:
        return f"{rng.choice(WORDS)}-{index}.a.pinggy.link"
    return f"{_slug(rng, 6)}-{index}.a.free.pinggy.link"


def _generated_active(rng: random.Random, index: int, anchor: datetime) -> Record:
    mode = MODES[index % len(MODES)]
    port = _port(rng) if mode in PORT_MODES else None
    created = anchor - timedelta(seconds=rng.uniform(0, 2 * 86400))
    updated = min(anchor, created + timedelta(seconds=rng.uniform(0, 3600)))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "userId": USER_ID,
        "tokenId": 100000 + rng.getrandbits(19),
        "token": _token(rng, 9) if rng.random() < 0.5 else None,
        "tokenName": rng.choice((None,) + TOKEN_NAMES),
        "virtualToken": f"{_token(rng, 10)}-{port}" if port and rng.random() < 0.5 else None,
        "virtualTokenName": None,
        "subdomain": _subdomain(rng, mode, index),
        "customdomain": f"app-{index}.example.com" if rng.random() < 0.1 else None,
        "mode": mode,
        "modeUdp": "udp" if mode == "udp" else "",
        "port": port,
        "creationTimestamp": format_timestamp(created),
        "lastUpdateTimestamp": format_timestamp(updated),
    }


def generate_active(count: int, seed: int, today: date) -> list[Record]:
    """``count`` active sessions, identical for the same (seed, today); modes rotate through MODES."""
    rng = random.Random(seed)
    anchor = _anchor(today)
    return [_generated_active(rng, index, anchor) for index in range(count)]


def _client_ip(rng: random.Random) -> str:
    port = 1024 + rng.getrandbits(16) % 64512
    bits = rng.getrandbits(32)
    if bits % 5 == 0:
        return f"[2001:db8::{bits >> 16:x}]:{port}"
    return f"[{1 + (bits >> 24) % 223}.{(bits >> 16) & 255}.{(bits >> 8) & 255}.{1 + (bits & 255) % 254}]:{port}"


def _generated_history(rng: random.Random, index: int, anchor: datetime) -> Record:
    mode = MODES[index % len(MODES)]
    port = _port(rng) if mode in PORT_MODES else None
    # Midnight minus up to 59 days covers yesterday back to midnight 59 days ago.
    started = anchor - timedelta(seconds=rng.uniform(0, (HISTORY_WINDOW_DAYS - 1) * 86400))
    ended = None if rng.random() < 0.05 else min(anchor, started + timedelta(seconds=rng.uniform(60, 12 * 3600)))
    domains = [_subdomain(rng, mode, index)]
    if rng.random() < 0.3:
        domains.insert(0, f"app-{index}.example.com")
    return {
        "start_time": format_timestamp(started),
        "end_time": format_timestamp(ended) if ended else None,
        "user_email": USER_EMAIL,
        "token_value": _token(rng, 9) if rng.random() < 0.7 else None,
        "virtual_token_value": f"{_token(rng, 10)}-{port}" if port and rng.random() < 0.3 else None,
        "domains": domains,
        "mode": mode,
        "mode_udp": "udp" if mode == "udp" else "",
        "client_ip": _client_ip(rng),
        "port": port,
    }


def generate_history(count: int, seed: int, today: date) -> list[Record]:
    """``count`` history records spread over the 59 days before today, identical for the same (seed, today)."""
    rng = random.Random(f"{seed}-history")  # str seeds are hashed with sha512: stable across runs
    anchor = _anchor(today)
    return [_generated_history(rng, index, anchor) for index in range(count)]


def complete_active(record: Record, now: datetime) -> Record:
    """Fill the keys a caller left out; contract keys keep the contract's order, extra keys follow."""
    session_id = str(uuid.uuid4())
    stamp = format_timestamp(now)
    completed: Record = {
        "id": session_id,
        "userId": USER_ID,
        "tokenId": None,
        "token": None,
        "tokenName": None,
        "virtualToken": None,
        "virtualTokenName": None,
        "subdomain": f"{session_id[:8]}.a.free.pinggy.link",
        "customdomain": None,
        "mode": "http",
        "modeUdp": "",
        "port": None,
        "creationTimestamp": stamp,
        "lastUpdateTimestamp": stamp,
    }
    completed.update(record)
    return completed


def complete_history(record: Record, now: datetime, client_port: int) -> Record:
    """Fill the keys a caller left out (start now, still running); contract order first."""
    completed: Record = {
        "start_time": format_timestamp(now),
        "end_time": None,
        "user_email": USER_EMAIL,
        "token_value": None,
        "virtual_token_value": None,
        "domains": [],
        "mode": "http",
        "mode_udp": "",
        "client_ip": f"[127.0.0.1]:{client_port}",
        "port": None,
    }
    completed.update(record)
    return completed


def ended_session(session: Record, now: datetime, client_port: int) -> Record:
    """The history record an active session leaves behind when it disconnects (a start time that does not parse is now)."""
    started = session.get("creationTimestamp")
    try:
        parse_timestamp(started)
    except (TypeError, ValueError):
        started = format_timestamp(now)
    return {
        "start_time": started,
        "end_time": format_timestamp(now),
        "user_email": USER_EMAIL,
        "token_value": session.get("token"),
        "virtual_token_value": session.get("virtualToken"),
        "domains": [name for name in (session.get("customdomain"), session.get("subdomain")) if name],
        "mode": session.get("mode"),
        "mode_udp": session.get("modeUdp", ""),
        "client_ip": f"[127.0.0.1]:{client_port}",
        "port": session.get("port"),
    }


def spring_page(content: list[Record], total: int, page: int, size: int) -> Record:
    """A Spring Data ``Page`` JSON object with the key order of the contract's example."""
    total_pages = -(-total // size)

    def unsorted() -> Record:
        return {"empty": True, "sorted": False, "unsorted": True}

    return {
        "totalElements": total,
        "totalPages": total_pages,
        "size": size,
        "content": content,
        "number": page,
        "sort": unsorted(),
        "pageable": {
            "pageNumber": page,
            "pageSize": size,
            "sort": unsorted(),
            "offset": page * size,
            "paged": True,
            "unpaged": False,
        },
        "numberOfElements": len(content),
        "first": page == 0,
        "last": page >= total_pages - 1,
        "empty": not content,
    }


def load_fixture(path: Optional[str | Path]) -> tuple[list[Record], list[Record]]:
    """Read ``{"active": [...], "history": [...]}``; no path means no fixture data."""
    if path is None:
        return [], []
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    active, history = document.get("active", []), document.get("history", [])
    if not isinstance(active, list) or not isinstance(history, list):
        raise ValueError(f"{path}: 'active' and 'history' must be lists")
    return active, history
