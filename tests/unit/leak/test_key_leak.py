"""The key-leak matrix's own machinery: finding runs of a secret, masking them, and the hostile servers."""

from __future__ import annotations

import json
import time

import pytest
import requests

pytest.importorskip("cryptography", reason="tests/leak imports the emulator's TLS helper")

# pylint: disable=wrong-import-position
from ansible_collections.pinggy.tunnels.tests.leak import key_leak  # noqa: E402
from ansible_collections.pinggy.tunnels.tests.leak.servers import MESSAGE_CUT, HostileServer, refused_port, straddle  # noqa: E402

KEY = "LKabcdefghijklmnopqrstuvwxyz0123456789AB"


def needles_for(secret: str) -> key_leak.Needles:
    needles = key_leak.Needles()
    needles.add("key", secret)
    return needles


@pytest.mark.parametrize("text", [KEY, KEY[5:13], f"x{KEY[20:28]}y", f"'Bearer {KEY}\\r\\n'"])
def test_any_run_of_eight_is_found(text: str) -> None:
    assert needles_for(KEY).find(text.encode())


def test_seven_characters_are_not_a_leak() -> None:
    assert not needles_for(KEY).find(f"{KEY[:7]} and {KEY[-7:]}".encode())


def test_escaped_forms_of_a_key_with_crlf_are_found() -> None:
    needles = needles_for(KEY + "\r\n")
    # The tail of the key with its line end escaped, as requests' header error prints it: only 4 key characters.
    assert needles.find(b"value: 'Bearer ...89AB\\r\\n'")
    assert needles.find(json.dumps({"msg": "...89AB\r\n"}).encode())


def test_the_longest_run_is_reported_with_its_offsets() -> None:
    spans = needles_for(KEY).find(f"head {KEY[3:30]} tail {KEY} end".encode())
    assert [description for _start, _end, description in spans] == ["<key[3:30]>", "<key[0:40] (whole)>"]


def test_masked_text_and_evidence_hold_no_run() -> None:
    needles = needles_for(KEY)
    text = f"error: Bearer {KEY[:13]}\nother line {KEY} and {KEY[10:30]}\n"
    masked = key_leak.mask_text(text, needles)
    assert not needles.find(masked.encode())
    assert "<key[0:13]>" in masked
    evidence = key_leak.describe_leaks(text.encode(), needles, "output.txt")
    assert evidence[0].startswith("output.txt line 1: <key[0:13]>")
    assert not needles.find("\n".join(evidence).encode())


def test_play_sections_split_stdout_and_the_log() -> None:
    stdout = b"PLAYBOOK: x.yml\nPLAY [module] ***\nA\nPLAY [lookup] ***\nB\nPLAY [Pinggy deployment gate] ***\nC\n"
    log = b"2026-01-01 10:00:00,000 p=1 u=root n=ansible | PLAY [lookup] ***\nB\n"
    assert [name for name, _text in key_leak.play_sections(stdout)] == ["", "module", "lookup", "gate"]
    assert dict(key_leak.play_sections(stdout))["lookup"].endswith(b"B\n")
    assert [name for name, _text in key_leak.play_sections(log)] == ["", "lookup"]


@pytest.mark.parametrize("output, expected", [
    ("[WARNING]: Failed to parse inventory with 'auto' plugin: Pinggy API error HTTP 500\n", "Pinggy API error HTTP 500"),
    ("[WARNING]:  * Failed to parse /x/a.pinggy.yml with auto plugin: Pinggy API error HTTP 401\n", "Pinggy API error HTTP 401"),
    ("[WARNING]:  * Failed to parse /x/a-\nb.pinggy.yml with auto plugin: Pinggy API rejected the API key\n(HTTP 401) for GET\n"
     "  File \"x.py\", line 1\n", "Pinggy API rejected the API key (HTTP 401) for GET"),
    ('ok: [localhost] => {\n    "msg": "The arg spec validation passed"\n}\nfatal: [localhost]: FAILED! => {\n'
     '    "changed": false,\n    "msg": "Pinggy API rejected the API key (HTTP 401)"\n}\n', "Pinggy API rejected the API key (HTTP 401)"),
])
def test_failure_line(output: str, expected: str) -> None:
    assert key_leak._failure_line(output) == expected  # pylint: disable=protected-access


def test_a_failure_message_on_two_lines_is_unexpected() -> None:
    cell = key_leak.Cell()
    key_leak._judge(cell, "fail", False, "HTTP 500\nmore", None)  # pylint: disable=protected-access
    assert cell.verdict == "UNEXP"
    cell = key_leak.Cell()
    key_leak._judge(cell, "ok", True, "", None)  # pylint: disable=protected-access
    assert cell.verdict == "clean"


def test_straddle_places_the_echo_across_the_cut() -> None:
    text = straddle("Bearer " + KEY, MESSAGE_CUT, 1200)
    assert len(text) == 1200
    assert text.index(KEY) + len(KEY) - 20 == MESSAGE_CUT
    lead = '{"error": "'
    whole = lead + straddle("Bearer " + KEY, 80, 1200, before=len(lead))
    assert whole.index(KEY) + len(KEY) - 20 == 80


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as other, HostileServer(other_port=other.server_address[1]) as server:
        yield server, other


def test_echo_behaviours_return_the_header(hostile) -> None:
    server, _other = hostile
    headers = {"Authorization": f"Bearer {KEY}"}
    unauthorized = requests.get(f"{server.url('unauthorized_echo', 't1')}/session/active", headers=headers, timeout=10)
    assert unauthorized.status_code == 401
    assert KEY in unauthorized.json()["message"] and KEY in unauthorized.reason
    reason = requests.get(f"{server.url('reason_echo', 't1')}/session/active", headers=headers, timeout=10)
    assert reason.status_code == 500 and reason.text == "" and KEY in reason.reason
    flood = requests.get(f"{server.url('flood_echo', 't1')}/session/active", headers=headers, timeout=10)
    assert len(flood.text) >= 1200 and flood.text.count(KEY) > 10
    malformed = requests.get(f"{server.url('malformed_echo', 't1')}/session/active", headers=headers, timeout=10)
    with pytest.raises(ValueError):
        malformed.json()
    assert [request.tag for request in server.requests_tagged("t1")] == ["t1"] * 4


@pytest.mark.parametrize("behaviour", ["redirect_host", "redirect_port"])
def test_redirect_targets_record_what_they_receive(hostile, behaviour: str) -> None:
    server, other = hostile
    answer = requests.get(f"{server.url(behaviour, behaviour)}/session/active", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert answer.json()[0]["subdomain"] == "leak-1.a.pinggy.link"
    targets = [request for request in server.requests + other.requests if request.tag == behaviour and request.behaviour == "target"]
    assert len(targets) == 1
    # requests drops the Authorization header when a redirect changes the host or the port.
    assert "Authorization" not in targets[0].headers


def test_drip_is_slow_but_valid_and_hang_needs_a_timeout(hostile) -> None:
    server, _other = hostile
    started = time.monotonic()
    answer = requests.get(f"{server.url('drip', 'd')}/session/history/2026-01-01/2026-01-01", timeout=2)
    assert answer.json()["content"] == []
    assert time.monotonic() - started >= 5  # each read got a byte within the timeout
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{server.url('hang', 'h')}/session/active", timeout=0.5)


def test_refused_port_refuses() -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{refused_port()}/", timeout=5)
