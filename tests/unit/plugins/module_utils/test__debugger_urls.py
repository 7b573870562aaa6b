"""A web debugger's /urls answer is untrusted data: only checked URLs come out, whatever the body."""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils._debugger_urls import ANSWER_LIMIT, debugger_urls, parsed_answer

HOSTILE = "{{ lookup('pipe', 'id') }}"


def body(document: t.Any) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(("answer", "urls"), [
    (b'{"urls": ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]}',
     ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]),
    (body({"urls": ["tcp://db.a.pinggy.link:40123", "TLS://App.Example.com/", "tlstcp://x.a.pinggy.link:443"]}),
     ["tcp://db.a.pinggy.link:40123", "tls://app.example.com", "tlstcp://x.a.pinggy.link:443"]),
    (b'{"urls": ["https://abc.a.pinggy.link", "https://abc.a.pinggy.link"]}', ["https://abc.a.pinggy.link"]),
    (body({"urls": [HOSTILE, f"https://{HOSTILE}", f"https://a.example.com/{HOSTILE}"]}), []),
    (body({"urls": [HOSTILE, "https://ok.example.com"]}), ["https://ok.example.com"]),
    (body({"urls": "https://abc.a.pinggy.link"}), []),
    (body(["https://abc.a.pinggy.link"]), []),
    (body({"urls": None}), []), (b"{}", []), (b"", []), (b"not json", []), (b"null", []), (b"42", []),
    (body({"urls": [42, None, ["https://a.example.com"], {"url": "https://a.example.com"}, True]}), []),
])
def test_the_debugger_answer_is_data_only_checked_urls_come_out(answer: bytes, urls: list[str]) -> None:
    assert debugger_urls(answer) == urls


@pytest.mark.parametrize("url", [
    "https://user:pw@a.example.com", "https://a.example.com/path", "https://a.example.com?q=1", "https://a.example.com#f",
    "ftp://a.example.com", "javascript://a.example.com", "https://127.0.0.1", "https://[::1]", "https://2130706433",
    "https://localhost", "https://app.localhost", "https://metadata", "tcp://a.example.com:0", "tcp://a.example.com:65536",
    "tcp://a.example.com:080", "tcp://a.example.com:", "tcp://a.example.com:x", "https://a.exam\nple.com", "https://a.exa\tmple.com",
    "https://a.example.com\n", "https://\u0430.example.com", "https://a_b.example.com", "https://" + "a." * 130 + "com",
    "https:/a.example.com", "https://a.example.com:443:1", "https://[a.example.com]", " https://a.example.com",
])
def test_urls_with_anything_but_scheme_host_and_port_are_dropped(url: str) -> None:
    url = url.encode().decode("unicode_escape")
    assert debugger_urls(body({"urls": [url]})) == []


def test_at_most_16_urls_are_kept() -> None:
    many = [f"https://t{index}.a.pinggy.link" for index in range(40)]
    assert debugger_urls(body({"urls": many})) == many[:16]


@pytest.mark.parametrize("answer", [
    b'{"urls":' + b"[" * 60000 + b"}",  # deeper than the parser's recursion: RecursionError, not ValueError
    b'{"urls": [' + b"{" * 30000 + b"]}",
    b'{"urls": ["https://a.example.com"], "pad": "' + b"x" * ANSWER_LIMIT + b'"}',  # over the limit: not parsed
    b'{"urls": ["https://a.example.com"]}\xff\xfe',  # not UTF-8
    b'\xef\xbb\xbf{"urls": ["https://a.example.com"]}',  # a byte-order mark is not JSON
    b'{"urls": ["https://a.example.com"], "n": ' + b"9" * 5000 + b"}",  # more digits than Python turns into an int
])
def test_hostile_bodies_give_no_url_and_never_raise(answer: bytes) -> None:
    assert parsed_answer(answer) is None
    assert debugger_urls(answer) == []


def test_a_body_of_exactly_the_limit_is_parsed() -> None:
    document = b'{"urls": ["https://a.example.com"], "pad": "'
    answer = document + b"x" * (ANSWER_LIMIT - len(document) - 2) + b'"}'
    assert len(answer) == ANSWER_LIMIT
    assert debugger_urls(answer) == ["https://a.example.com"]
