"""visible(), the one escaping step both report renderers take before their own (HTML or Markdown) escaping."""

from __future__ import annotations

import pytest

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._history_report import esc, md, visible


@pytest.mark.parametrize(("text", "shown"), [
    ("web.a.pinggy.link", "web.a.pinggy.link"),
    ("caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c"),  # printable non-ASCII stays as it is
    ("evil\u202egnp.com", "evil\\u202egnp.com"),
    ("\x1b[2J\x07\x00\x7f", "\\x1b[2J\\x07\\x00\\x7f"),
    ("\x85\x9f\u061c\u200e\u200f\u2066\u2069", "\\x85\\x9f\\u061c\\u200e\\u200f\\u2066\\u2069"),
    ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),
    ("zero\u200bwidth\ufeff\u2028\U000e0041", "zero\\u200bwidth\\ufeff\\u2028\\U000e0041"),
    (None, ""),
    (7, "7"),
])
def test_characters_that_do_not_print_are_shown_as_their_code(text: object, shown: str) -> None:
    assert visible(text) == shown


def test_both_renderers_escape_through_visible() -> None:
    assert esc("<\u202e>") == "&lt;\\u202e&gt;"
    assert md("|\x1b|") == "\\|\\\\x1b\\|"  # the code's backslash is escaped too: Markdown shows \x1b
