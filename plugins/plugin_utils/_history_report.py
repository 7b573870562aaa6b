# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a pinggy.tunnels.history_summary result as one self-contained HTML page or as Markdown (private).

Why the page is built here, in Python, and not by a Jinja template in roles/history_report:
- every string from the API (domains, token names, addresses) goes through ONE escaping function, and the unit
  tests check the exact output; ansible.builtin.template does not autoescape, and how untrusted values flow through
  a template differs between ansible-core 2.16 (unsafe wrappers) and 2.19 (data tagging);
- the SVG geometry is arithmetic, which belongs in Python next to the markup that uses it, not in Jinja;
- the same page is then one filter call for any playbook, and the role stays a few tasks.
"""

from __future__ import annotations

import html
import re
import typing as t

Summary = t.Mapping[str, t.Any]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies. Mode is also in the legend and tooltips.
PALETTE = {"http": "#0072B2", "tcp": "#E69F00", "tls": "#009E73", "tlstcp": "#CC79A7", "udp": "#D55E00", "unknown": "#56B4E9"}
# Timeline geometry in SVG user units (the SVG scales to the page width).
WIDTH, LABEL_WIDTH, PLOT_X, PLOT_WIDTH = 1000, 290, 300, 680
AXIS_HEIGHT, ROW_HEIGHT, BAR_HEIGHT, MIN_BAR_WIDTH = 28, 20, 12, 1.5
LABEL_CHARS = 44
DAY_CHART_HEIGHT, DAY_PLOT_TOP, DAY_PLOT_HEIGHT = 230, 16, 170
TOP_ROWS = 10

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&{}#~!])")


def _code(character: str) -> str:
    point = ord(character)
    return f"\\x{point:02x}" if point < 0x100 else (f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}")


def visible(value: t.Any) -> str:
    """The text with every character that does not print shown as its code (ESC as \\x1b, U+202E as \\u202e).

    Both renderers call this first: controls (C0, DEL, C1: NUL, ESC, BEL, CR, LF...) never reach a terminal reading
    the Markdown, and bidirectional overrides and isolates, zero-width and other invisible characters (every one
    str.isprintable refuses: Unicode categories C and Z, the ASCII space excepted) cannot make a name display as another.
    """
    text = "" if value is None else str(value)
    return text if text.isprintable() else "".join(character if character.isprintable() else _code(character) for character in text)


def esc(value: t.Any) -> str:
    """Text or attribute value for HTML/SVG: visible(), html.escape, and braces as entities so no template delimiter survives."""
    return html.escape(visible(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def md(value: t.Any) -> str:
    """A Markdown table cell: visible() (so one line), every character Markdown or HTML would act on backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", visible(value)) or " "


def duration_text(seconds: float) -> str:
    """45 s, 12 min, 3 h 05 min."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def when(text: t.Optional[str]) -> str:
    """A UTC ISO timestamp as the table shows it: 2025-02-06 16:16:44 (anything else as it is)."""
    if text and len(text) == 25 and text.endswith("+00:00"):
        return text[:10] + " " + text[11:19]
    return text or "?"


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"


def _range_text(summary: Summary) -> str:
    span = summary["range"]
    days = f"{span['days']} day" + ("s" if span["days"] != 1 else "")
    return f"{span['start_date']} to {span['end_date']} (UTC, {days})"


def _filters_text(summary: Summary) -> str:
    filters = summary.get("filters") or {}
    parts = [f"{label} {', '.join(filters[key])}" for key, label in (("modes", "mode"), ("token_names", "token"), ("domains", "domain"))
             if filters.get(key)]
    return "; ".join(parts)


def _tiles(summary: Summary) -> list[tuple[str, str]]:
    totals = summary["totals"]
    tiles = [("Sessions", _number(totals["sessions"])), ("Hours", _number(totals["hours"])),
             ("Running", _number(totals["running"])), ("Client addresses", _number(totals["client_addresses"])),
             ("Domains", _number(totals["domains"])), ("Tokens", _number(totals["tokens"]))]
    if totals["unparsable"]:
        tiles.append(("Unparsable times", _number(totals["unparsable"])))
    if totals["outside_range"]:
        tiles.append(("Outside the range", _number(totals["outside_range"])))
    return tiles


# -- HTML: the pieces ----------------------------------------------------------------------------------------------
def _svg_ticks(timeline: Summary, height: int) -> list[str]:
    parts = []
    for tick in timeline["ticks"]:
        x = PLOT_X + tick["x"] * PLOT_WIDTH
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{AXIS_HEIGHT - 6}" x2="{x:.1f}" y2="{height}"/>'
                     f'<text class="tick" x="{x:.1f}" y="{AXIS_HEIGHT - 10}">{esc(tick["label"])}</text>')
    return parts


def _svg_bar(session: Summary, y: float) -> str:
    x, width = PLOT_X + session["x"] * PLOT_WIDTH, max(session["width"] * PLOT_WIDTH, MIN_BAR_WIDTH)
    mode = session["mode"] if session["mode"] in PALETTE else "unknown"
    running = " running" if session["running"] else ""
    return (f'<rect class="session-bar mode-{mode}{running}" data-index="{esc(session["index"])}" x="{x:.2f}" y="{y:.1f}" '
            f'width="{width:.2f}" height="{BAR_HEIGHT}" fill="{PALETTE[mode]}"><title>{esc(session["tooltip"])}</title></rect>')


def _svg_row(number: int, row: Summary) -> list[str]:
    top = AXIS_HEIGHT + number * ROW_HEIGHT
    label = row["label"] if len(row["label"]) <= LABEL_CHARS else row["label"][:LABEL_CHARS - 1] + "\u2026"
    parts = [f'<rect class="row-bg" x="0" y="{top}" width="{WIDTH}" height="{ROW_HEIGHT}"/>' if number % 2 else "",
             f'<text class="label" x="{LABEL_WIDTH}" y="{top + ROW_HEIGHT / 2 + 4:.1f}">{esc(label)}'
             f'<title>{esc(row["label"])}: {row["sessions"]} session(s)</title></text>']
    parts += [_svg_bar(session, top + (ROW_HEIGHT - BAR_HEIGHT) / 2) for session in row["bars"]]
    return parts


def timeline_svg(summary: Summary) -> str:
    """The per-tunnel timeline: one row per domain and token, one bar per session (running ones end at now)."""
    timeline = summary["timeline"]
    height = AXIS_HEIGHT + len(timeline["rows"]) * ROW_HEIGHT + 6
    bars = sum(len(row["bars"]) for row in timeline["rows"])
    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-labelledby="timeline-title timeline-desc">',
             '<title id="timeline-title">Sessions per tunnel over time (UTC)</title>',
             f'<desc id="timeline-desc">{len(timeline["rows"])} rows (domain and token), {bars} sessions, from '
             f'{esc(timeline["start"])} to {esc(timeline["end"])}; hover a bar for its details. Dashed bars are still running.</desc>']
    parts += _svg_ticks(timeline, height)
    for number, row in enumerate(timeline["rows"]):
        parts += _svg_row(number, row)
    if timeline["now"] is not None:
        x = PLOT_X + timeline["now"] * PLOT_WIDTH
        parts.append(f'<line class="now" x1="{x:.1f}" y1="{AXIS_HEIGHT - 6}" x2="{x:.1f}" y2="{height}"><title>now: '
                     f'{esc(summary["range"]["now"])}</title></line>')
    return "".join(parts) + "</svg>"


def day_chart_svg(summary: Summary) -> str:
    """Hours used per UTC day, one bar per day of the range."""
    days = summary["by_day"]
    peak = max([day["hours"] for day in days] + [1.0])
    slot = PLOT_WIDTH / len(days)
    bottom = DAY_PLOT_TOP + DAY_PLOT_HEIGHT
    parts = [f'<svg class="days" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {DAY_CHART_HEIGHT}" role="img" '
             'aria-labelledby="days-title days-desc"><title id="days-title">Hours of tunnel use per day (UTC)</title>'
             f'<desc id="days-desc">{len(days)} days; the tallest bar is {_number(peak)} hours.</desc>',
             f'<line class="axis" x1="{PLOT_X}" y1="{bottom}" x2="{PLOT_X + PLOT_WIDTH}" y2="{bottom}"/>',
             f'<text class="tick" x="{PLOT_X - 8}" y="{DAY_PLOT_TOP + 4}" text-anchor="end">{_number(peak)} h</text>',
             f'<text class="tick" x="{PLOT_X - 8}" y="{bottom}" text-anchor="end">0 h</text>']
    label_every = max(1, len(days) // 12)
    for number, day in enumerate(days):
        x, height = PLOT_X + number * slot, day["hours"] / peak * DAY_PLOT_HEIGHT
        parts.append(f'<rect class="day-bar" x="{x + slot * 0.1:.2f}" y="{bottom - height:.2f}" width="{slot * 0.8:.2f}" '
                     f'height="{height:.2f}"><title>{esc(day["date"])}: {_number(day["hours"])} h, {day["sessions"]} '
                     f'session(s) started</title></rect>')
        if number % label_every == 0:
            parts.append(f'<text class="tick" x="{x + slot / 2:.1f}" y="{bottom + 16}">{esc(day["date"][5:])}</text>')
    return "".join(parts) + "</svg>"


def _small_table(caption: str, heading: str, key: str, rows: list[Summary], swatch: bool = False) -> str:
    body = []
    for row in rows[:TOP_ROWS]:
        mark = f'<span class="swatch" style="background:{PALETTE.get(row[key], PALETTE["unknown"])}"></span>' if swatch else ""
        body.append(f'<tr><td>{mark}{esc(row[key])}</td><td class="num">{_number(row["sessions"])}</td>'
                    f'<td class="num">{_number(row["hours"])}</td></tr>')
    more = f" (the {TOP_ROWS} most used of {len(rows)})" if len(rows) > TOP_ROWS else ""
    return (f'<table class="small"><caption>{esc(caption)}{more}</caption><thead><tr><th scope="col">{esc(heading)}</th>'
            f'<th scope="col">Sessions</th><th scope="col">Hours</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


# (heading, sort type, cell text, sort key) for each column of the sessions table.
_COLUMNS: list[tuple[str, str, t.Callable[[Summary], t.Any], t.Callable[[Summary], t.Any]]] = [
    ("Start (UTC)", "text", lambda row: when(row["start_time"]), lambda row: row["start_time"] or ""),
    ("End (UTC)", "text", lambda row: "running" if row["running"] else when(row["end_time"]),
     lambda row: "~" if row["running"] else (row["end_time"] or "")),
    ("Duration", "number", lambda row: row["duration"] or "?", lambda row: "" if row["seconds"] is None else row["seconds"]),
    ("Mode", "text", lambda row: row["mode"], lambda row: row["mode"]),
    ("Domains", "text", lambda row: ", ".join(row["domains"]) or row["domain"], lambda row: row["domain"].lower()),
    ("Token", "text", lambda row: row["token"], lambda row: row["token"].lower()),
    ("Client", "text", lambda row: row["client_address"] or "", lambda row: row["client_address"] or ""),
]


def _session_row(row: Summary) -> str:
    cells = "".join(f'<td data-sort="{esc(key(row))}">{esc(text(row))}</td>' for _heading, _kind, text, key in _COLUMNS)
    problem = f' class="problem" title="{esc(row["problem"])}"' if row["problem"] else (' class="running"' if row["running"] else "")
    return f"<tr{problem}>{cells}</tr>"


def sessions_table(summary: Summary) -> str:
    headings = "".join(f'<th scope="col" data-type="{kind}">{esc(heading)}</th>' for heading, kind, _text, _key in _COLUMNS)
    rows = "".join(_session_row(row) for row in summary["sessions"])
    return (f'<table id="sessions"><caption>All {len(summary["sessions"])} sessions, in start order (running sessions are '
            f'measured up to now; sort by a column heading)</caption><thead><tr>{headings}</tr></thead><tbody>{rows}</tbody></table>')


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;background:#fff}
header,main{max-width:1100px;margin:0 auto;padding:0 20px}header{padding-top:20px}h1{margin:0 0 4px;font-size:1.6em}
h2{font-size:1.2em;margin:28px 0 8px}.meta{color:#444;margin:0}
.tiles{display:flex;flex-wrap:wrap;gap:10px;list-style:none;padding:0;margin:16px 0}
.tiles li{border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:110px}
.tiles .value{display:block;font-size:1.6em;font-weight:600}.tiles .name{color:#444;font-size:.9em}
svg{width:100%;height:auto;display:block}svg text{font-size:11px;fill:#1a1a1a}
svg .label{text-anchor:end}svg .tick{text-anchor:middle;fill:#444}svg .grid{stroke:#ddd}svg .axis{stroke:#888}
svg .row-bg{fill:#f3f3f3}svg .session-bar.running{stroke:#000;stroke-width:1;stroke-dasharray:3 2}
svg .now{stroke:#000;stroke-width:1.5;stroke-dasharray:4 3}svg .day-bar{fill:#0072B2}
.legend{display:flex;flex-wrap:wrap;gap:14px;list-style:none;padding:0;margin:6px 0}
.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;border:1px solid #0003}
.swatch.running{background:#fff;border:1px dashed #000}
.groups{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse;margin:8px 0}caption{text-align:left;color:#444;padding-bottom:4px}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}td.num{text-align:right}
#sessions td:nth-child(-n+3){white-space:nowrap}
#sessions{width:100%}#sessions td:nth-child(5){word-break:break-all}tr.problem{background:#fdecea}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
.empty{font-size:1.2em;padding:24px;border:1px dashed #999;border-radius:6px}
"""

# Sorting needs JavaScript; everything else (charts, tooltips, the full table) works without it.
_JS = """
(function () {
  var table = document.getElementById('sessions');
  if (!table) { return; }
  var body = table.tBodies[0], heads = table.tHead.rows[0].cells, box = document.getElementById('filter-box');
  var input = document.getElementById('session-filter'), count = document.getElementById('filter-count');
  box.hidden = false;
  input.addEventListener('input', function () {
    var query = input.value.toLowerCase(), shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      row.hidden = row.textContent.toLowerCase().indexOf(query) < 0;
      if (!row.hidden) { shown += 1; }
    });
    count.textContent = shown + ' of ' + body.rows.length + ' sessions shown';
  });
  Array.prototype.forEach.call(heads, function (head, column) {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = head.textContent;
    head.textContent = '';
    head.appendChild(button);
    button.addEventListener('click', function () {
      var ascending = head.getAttribute('aria-sort') !== 'ascending', numeric = head.getAttribute('data-type') === 'number';
      Array.prototype.forEach.call(heads, function (other) { other.removeAttribute('aria-sort'); });
      head.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute('data-sort'), y = b.cells[column].getAttribute('data-sort'), order;
        if (numeric) { order = (x === '' ? -1 : parseFloat(x)) - (y === '' ? -1 : parseFloat(y)); }
        else { order = x < y ? -1 : (x > y ? 1 : 0); }
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
}());
"""


def _legend(summary: Summary) -> str:
    modes = [row["mode"] for row in summary["by_mode"]]
    items = [f'<li><span class="swatch" style="background:{PALETTE.get(mode, PALETTE["unknown"])}"></span>{esc(mode)}</li>' for mode in modes]
    if summary["totals"]["running"]:
        items.append('<li><span class="swatch running"></span>running (drawn up to now)</li>')
    return f'<ul class="legend" aria-label="Colours of the timeline">{"".join(items)}</ul>'


def _lists(summary: Summary) -> str:
    groups = [_small_table("By mode", "Mode", "mode", summary["by_mode"], swatch=True),
              _small_table("By token", "Token", "token", summary["by_token"]),
              _small_table("By domain", "Domain", "domain", summary["by_domain"])]
    return f'<div class="groups">{"".join(groups)}</div>'


def _body(summary: Summary) -> str:
    if not summary["sessions"]:
        return f'<p class="empty">No sessions between {esc(summary["range"]["start_date"])} and {esc(summary["range"]["end_date"])} (UTC).</p>'
    unparsable = summary["totals"]["unparsable"]
    note = (f'<p class="meta">{unparsable} session(s) have unusable times: listed in the table (highlighted), '
            'left out of the charts and of the hours.</p>') if unparsable else ""
    return "".join([
        '<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>', _legend(summary), note,
        timeline_svg(summary), "</section>",
        '<section aria-labelledby="h-days"><h2 id="h-days">Hours per day</h2>', day_chart_svg(summary), "</section>",
        '<section aria-labelledby="h-groups"><h2 id="h-groups">Usage</h2>', _lists(summary), "</section>",
        '<section aria-labelledby="h-sessions"><h2 id="h-sessions">Sessions</h2>',
        '<p id="filter-box" hidden><label for="session-filter">Filter rows </label><input id="session-filter" type="search" '
        'placeholder="domain, token, mode, address..."> <span id="filter-count" aria-live="polite"></span></p>',
        sessions_table(summary), "</section>",
    ])


def render_html(summary: Summary, title: str) -> str:
    """The whole report as one HTML page: no external asset, readable offline; no generation time (idempotent)."""
    filters = _filters_text(summary)
    tiles = "".join(f'<li><span class="value">{esc(value)}</span><span class="name">{esc(name)}</span></li>' for name, value in _tiles(summary))
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)} - {esc(_range_text(summary))}</title><style>{_CSS}</style></head><body>",
        f'<header><h1>{esc(title)}</h1><p class="meta">{esc(_range_text(summary))}',
        f"; filters: {esc(filters)}" if filters else "",
        f'</p><ul class="tiles" aria-label="Totals">{tiles}</ul></header><main>',
        _body(summary), f"</main><script>{_JS}</script></body></html>\n",
    ])


# -- Markdown ------------------------------------------------------------------------------------------------------
def _md_table(headings: list[str], rows: list[list[t.Any]], numeric: t.Sequence[int] = ()) -> list[str]:
    align = ["---:" if column in numeric else "---" for column in range(len(headings))]
    lines = ["| " + " | ".join(headings) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]


def render_markdown(summary: Summary, title: str) -> str:
    """Totals, usage by mode and token, and one table row per session: fits a CI job summary."""
    filters = _filters_text(summary)
    lines = [f"# {md(title)}", "", md(_range_text(summary)) + (f". Filters: {md(filters)}" if filters else "") + "", ""]
    if not summary["sessions"]:
        return "\n".join(lines + [f"No sessions between {md(summary['range']['start_date'])} and {md(summary['range']['end_date'])} (UTC).", ""])
    tiles = _tiles(summary)
    lines += _md_table([name for name, _value in tiles], [[value for _name, value in tiles]], range(len(tiles))) + [""]
    for heading, key, rows in (("Mode", "mode", summary["by_mode"]), ("Token", "token", summary["by_token"])):
        more = f" (the {TOP_ROWS} most used of {len(rows)})" if len(rows) > TOP_ROWS else ""
        lines += [f"## By {key}{more}", ""]
        lines += _md_table([heading, "Sessions", "Hours"], [[row[key], row["sessions"], _number(row["hours"])] for row in rows[:TOP_ROWS]],
                           (1, 2)) + [""]
    lines += ["## Sessions", ""]
    lines += _md_table([heading for heading, _kind, _text, _key in _COLUMNS],
                       [[text(row) for _heading, _kind, text, _key in _COLUMNS] for row in summary["sessions"]]) + [""]
    return "\n".join(lines)
