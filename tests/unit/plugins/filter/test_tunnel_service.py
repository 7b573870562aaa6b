"""The tunnel_service filters: thin callers of the tunnel_service engine (plugin_utils), with Ansible's filter error."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.filter.tunnel_service import (
    FilterModule,
    tunnel_service_debugger_urls,
    tunnel_service_plan,
    tunnel_service_ssh_config,
    tunnel_service_ssh_configs,
    tunnel_service_stale,
)

SETTINGS = {"known_hosts": ["a.pinggy.io,[a.pinggy.io]:443 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqqrjJ+0Ok8yFPSgA9iS4LsQeyZ64Ywkk8fwBvY1Qaa"]}
TUNNELS = [{"name": "web", "local_port": 8080, "token": "T0kenValue42", "options": ["b:alice:pa55word"]}, {"name": "old", "state": "absent"}]


def test_filters_are_registered_under_their_names() -> None:
    assert FilterModule().filters() == {"tunnel_service_plan": tunnel_service_plan, "tunnel_service_ssh_config": tunnel_service_ssh_config,
                                        "tunnel_service_ssh_configs": tunnel_service_ssh_configs,
                                        "tunnel_service_stale": tunnel_service_stale,
                                        "tunnel_service_debugger_urls": tunnel_service_debugger_urls}


def test_the_filters_return_what_the_engine_renders() -> None:
    assert [entry["unit"] for entry in tunnel_service_plan(TUNNELS, SETTINGS)] == ["pinggy-tunnel@web.service", "pinggy-tunnel@old.service"]
    assert tunnel_service_ssh_configs(TUNNELS, SETTINGS) == {"web": tunnel_service_ssh_config("web", TUNNELS, SETTINGS)}
    assert [entry["unit"] for entry in tunnel_service_stale(["/etc/pinggy-tunnels/web.conf", "/etc/pinggy-tunnels/was.conf"],
                                                            TUNNELS, SETTINGS)] == ["pinggy-tunnel@was.service"]


@pytest.mark.parametrize("call", [
    lambda: tunnel_service_plan([{"name": "web", "local_port": 8080, "token": "T0kenValue42/bad"}], SETTINGS),
    lambda: tunnel_service_ssh_config("web", [{"name": "web", "local_port": 8080, "options": ["b:alice:pa55word", "bogus"]}], SETTINGS),
    lambda: tunnel_service_ssh_configs([{"name": "web", "local_port": 8080, "mode": "tcp", "options": ["k:pa55word"]}], SETTINGS),
    lambda: tunnel_service_stale([], [{"name": "web", "local_port": 8080, "mode": "tcp", "options": ["k:pa55word"]}], SETTINGS),
])
def test_an_engine_error_is_one_filter_error_line_without_secrets(call: t.Callable[[], t.Any]) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith("tunnel_service: tunnel 'web': ") and "\n" not in message
    assert "T0kenValue42" not in message and "pa55word" not in message
    assert caught.value.__cause__ is None


HOSTILE = "{{ lookup('pipe', 'id') }}"


@pytest.mark.parametrize(("answer", "urls"), [
    ('{"urls": ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]}',
     ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]),
    ({"urls": ["tcp://db.a.pinggy.link:40123", "TLS://App.Example.com/", "tlstcp://x.a.pinggy.link:443"]},
     ["tcp://db.a.pinggy.link:40123", "tls://app.example.com", "tlstcp://x.a.pinggy.link:443"]),
    (b'{"urls": ["https://abc.a.pinggy.link", "https://abc.a.pinggy.link"]}', ["https://abc.a.pinggy.link"]),
    (f'{{"urls": ["{HOSTILE}", "https://{HOSTILE}", "https://a.example.com/{HOSTILE}"]}}', []),
    ({"urls": [HOSTILE, "https://ok.example.com"]}, ["https://ok.example.com"]),
    ({"urls": "https://abc.a.pinggy.link"}, []),
    (["https://abc.a.pinggy.link"], []),
    ({"urls": None}, []), ({}, []), ("", []), ("not json", []), (None, []), (42, []),
    ({"urls": [42, None, ["https://a.example.com"], {"url": "https://a.example.com"}, True]}, []),
])
def test_the_debugger_answer_is_data_only_checked_urls_come_out(answer: t.Any, urls: list[str]) -> None:
    assert tunnel_service_debugger_urls(answer) == urls


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
    assert tunnel_service_debugger_urls({"urls": [url]}) == []


def test_a_huge_answer_is_not_parsed_and_at_most_16_urls_are_kept() -> None:
    many = [f"https://t{index}.a.pinggy.link" for index in range(40)]
    assert tunnel_service_debugger_urls({"urls": many}) == many[:16]
    assert tunnel_service_debugger_urls('{"urls": ["https://a.example.com"], "pad": "' + "x" * 70000 + '"}') == []
