"""Characters that do not print, in every API string (and every argument) that reaches the HTML or the Markdown.

Bidirectional overrides and isolates would make a domain display as another; controls (ESC above all) would reach a
terminal reading the Markdown. Each must be shown as its code, in every field, in both renderers.
"""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.pinggy.tunnels.plugins.filter.history_summary import (
    history_report_html,
    history_report_markdown,
    history_summary,
)

NOW = "2025-02-08T03:00:00+00:00"
DAY = {"start_date": "2025-02-05", "end_date": "2025-02-05"}
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
CONTROLS = "\x00\x1b\x07\x7f\x80\x85\x9f\x08\x0b\x0c\r\t\n"
INVISIBLE = "\u200b\u200d\ufeff\u2028\u2029\u00ad"
HOSTILE = BIDI + CONTROLS + INVISIBLE
# The lookup redacts a token value to its last 4 characters: each group of 4 in turn.
TOKEN_TAILS = [HOSTILE[at:at + 4] for at in range(0, len(HOSTILE), 4)]


def _code(character: str) -> str:
    point = ord(character)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def _record(**fields: t.Any) -> dict[str, t.Any]:
    return {"start_time": "2025-02-05T10:00:00Z", "end_time": "2025-02-05T11:00:00Z", "mode": "http",
            "domains": ["web.a.pinggy.link"], **fields}


# (name, record fields, characters the report shows of the value)
FIELDS = [
    ("first domain", {"domains": ["pay" + HOSTILE + "lap.a.pinggy.link"]}, HOSTILE),
    ("second domain", {"domains": ["web.a.pinggy.link", HOSTILE]}, HOSTILE),
    ("domain as a string", {"domains": HOSTILE}, HOSTILE),
    ("token name", {"token_name": HOSTILE}, HOSTILE),
    ("virtual token name", {"virtual_token_name": HOSTILE}, HOSTILE),
    ("mode", {"mode": HOSTILE}, HOSTILE),
    ("client address", {"client_address": HOSTILE}, HOSTILE),
    ("client_ip", {"client_ip": f"[{HOSTILE}]:5555"}, HOSTILE),
    ("unparsable start_time", {"start_time": HOSTILE}, HOSTILE),
    ("unparsable end_time", {"end_time": HOSTILE}, ""),  # the problem quotes it with repr(), escaped already
] + [(f"token value ending {index}", {"token_value": "tokentoken" + tail}, tail) for index, tail in enumerate(TOKEN_TAILS)]


def _renders(summary: t.Any, title: str = "Pinggy tunnel usage") -> dict[str, str]:
    return {"html": history_report_html(summary, title=title), "markdown": history_report_markdown(summary, title=title)}


def _assert_shown_escaped(output: str, baseline: str, shown: str, renderer: str) -> None:
    for character in HOSTILE:
        if character == "\n":  # the page and the Markdown have line breaks of their own: no more than without the value
            assert output.count("\n") == baseline.count("\n"), renderer
        else:
            assert character not in output, (renderer, hex(ord(character)))
    for character in shown:
        code = _code(character) if renderer == "html" else "\\" + _code(character)  # Markdown escapes the backslash
        assert code in output, (renderer, hex(ord(character)))


@pytest.mark.parametrize(("fields", "shown"), [pytest.param(fields, shown, id=name) for name, fields, shown in FIELDS])
def test_every_api_field_shows_characters_that_do_not_print_as_their_code(fields: dict[str, t.Any], shown: str) -> None:
    rendered = _renders(history_summary([_record(**fields)], now=NOW, **DAY))
    baseline = _renders(history_summary([_record()], now=NOW, **DAY))
    for renderer, output in rendered.items():
        _assert_shown_escaped(output, baseline[renderer], shown, renderer)


def test_a_running_session_of_a_hostile_domain_is_escaped_in_the_tooltip_and_the_now_line() -> None:
    summary = history_summary([_record(end_time=None, domains=[HOSTILE])], now=NOW, start_date="2025-02-05", end_date="2025-02-08")
    baseline = history_summary([_record(end_time=None)], now=NOW, start_date="2025-02-05", end_date="2025-02-08")
    for renderer, output in _renders(summary).items():
        _assert_shown_escaped(output, _renders(baseline)[renderer], HOSTILE, renderer)


@pytest.mark.parametrize("option", ["domains", "token_names"])
def test_filters_and_the_title_are_escaped_too(option: str) -> None:
    summary = history_summary([_record()], now=NOW, **DAY, **{option: [HOSTILE]})
    baseline = history_summary([_record()], now=NOW, **DAY, **{option: ["x"]})
    for renderer, output in _renders(summary, title=HOSTILE).items():
        _assert_shown_escaped(output, _renders(baseline, title="x")[renderer], HOSTILE, renderer)


def test_a_domain_with_an_override_cannot_display_as_another() -> None:
    # "evil\u202egnp.com" displays as "evilmoc.png" reversed tail; shown escaped, it reads as what it is.
    summary = history_summary([_record(domains=["evil\u202egnp.com"])], now=NOW, **DAY)
    assert "evil\\u202egnp.com" in history_report_html(summary)
    assert "evil\\\\u202egnp.com" in history_report_markdown(summary)
