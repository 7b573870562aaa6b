# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pinggy_history
short_description: Read the Pinggy tunnel session history over a date range
version_added: 0.1.0
description:
  - Returns the tunnel sessions of a Pinggy account that started within a range of UTC dates, at most 60 days back.
  - Every page of the history is fetched (page 0 first, then the others concurrently) and merged in page order;
    if any page fails after the retries, the lookup fails and never returns a partial list.
  - The range is given by O(start_date) and O(end_date), by O(days), or by one or two positional terms
    (one date for a single day; a start and an end date).
  - All options are checked before any request is made.
author:
  - Pinggy Tunnels Maintainers (@pinggy)
extends_documentation_fragment:
  - pinggy.tunnels.pinggy
  - pinggy.tunnels.pinggy.plugins
  - pinggy.tunnels.pinggy.vars
  - pinggy.tunnels.pinggy.tokens
options:
  _terms:
    description:
      - Optional positional dates (C(YYYY-MM-DD)), one for a single day or two for a start and an end date.
      - Cannot be combined with O(start_date), O(end_date) or O(days).
    type: list
    elements: str
    required: false
  start_date:
    description:
      - First day of the range (UTC), C(YYYY-MM-DD), not older than 60 days and not in the future.
      - Defaults to O(end_date) when only O(end_date) is given.
    type: str
  end_date:
    description:
      - Last day of the range (UTC, inclusive), C(YYYY-MM-DD), not in the future.
      - Defaults to O(start_date) when only O(start_date) is given.
    type: str
  days:
    description:
      - The last O(days) days ending today (UTC), today included. V(1) means today only.
      - Between 1 and 60. Cannot be combined with dates.
      - When no range is given at all, V(7) is used.
    type: int
  mode:
    description:
      - Keep only sessions of these modes. A UDP session is one whose C(mode_udp) is V(udp).
    type: list
    elements: str
    choices: [http, tcp, tls, tlstcp, udp]
  query:
    description:
      - A JMESPath expression applied to the (filtered) list of records; its value is returned instead.
      - A value that is not a list is returned as a one-element list. Requires the C(jmespath) Python library.
    type: str
  page_size:
    description:
      - Records asked for per page, between 1 and 2000. The default is the largest page the API serves (a Spring
        pageable endpoint capped at 2000), so a long history takes the fewest requests.
      - The server may cap it lower; every record is still fetched once.
    type: int
    default: 2000
  max_workers:
    description:
      - At most this many page requests in flight at once, between 1 and 16.
    type: int
    default: 4
notes:
  - Use C(query()) or C(lookup(..., wantlist=true)) to always get a list. A plain C(lookup()) changes the shape
    the way ansible-core does for every lookup returning a list - no record gives an empty value, exactly one
    gives that record alone (not in a list), and a list of strings (from O(query)) is joined with commas.
  - Strings in the records come from the API and are treated as untrusted data, never as templates. Before
    ansible-core 2.19 the lookup marks the strings holding C({) or C(}) unsafe itself, so they stay data even with
    C(allow_unsafe_lookups); from 2.19 ansible-core treats all of them as untrusted.
  - The history is paged by the server. A first page whose C(totalPages) does not match C(totalElements) and the page
    C(size) it reports, or that announces more than 10000 pages, fails the lookup before any other request.
seealso:
  - module: pinggy.tunnels.pinggy_sessions_info
"""

EXAMPLES = r"""
- name: Sessions of the last 7 days (API key from PINGGY_API_KEY)
  ansible.builtin.debug:
    msg: "{{ query('pinggy.tunnels.pinggy_history', days=7) | length }} sessions"

- name: One day, by positional date
  ansible.builtin.debug:
    msg: "{{ query('pinggy.tunnels.pinggy_history', '2025-02-06', api_key=vault_pinggy_api_key) }}"

# The projection [].duration_seconds skips the null duration of sessions still running.
- name: A range, TCP only, total hours through a JMESPath query
  ansible.builtin.debug:
    msg: >-
      {{ (query('pinggy.tunnels.pinggy_history', start_date='2025-02-01', end_date='2025-02-06',
                mode=['tcp', 'tlstcp'], query='sum([].duration_seconds)') | first) / 3600 }}

- name: Client addresses of the last day's sessions
  ansible.builtin.set_fact:
    clients: "{{ query('pinggy.tunnels.pinggy_history', days=1, query='[].client_address') | unique }}"
"""

RETURN = r"""
_raw:
  description:
    - The history records in the order the API returned them, or the value of O(query).
    - Every field of the API record is included, plus the derived fields below.
  type: list
  elements: dict
  contains:
    start_time:
      description: When the session started (ISO 8601, UTC).
      type: str
      sample: "2025-02-06T16:16:44.571+00:00"
    end_time:
      description: When the session ended; null while it is running.
      type: str
      sample: "2025-02-07T06:15:26.294+00:00"
    user_email:
      description: Account e-mail.
      type: str
    token_value:
      description: Token that created the session; redacted (V(****) and its last 4 characters) unless O(reveal_tokens).
      type: str
      sample: "****A1F3"
    virtual_token_value:
      description: Virtual token of the session, if any; redacted like RV(_raw[].token_value) unless O(reveal_tokens).
      type: str
    domains:
      description: Public names of the tunnel.
      type: list
      elements: str
      sample: ["test.example.com", "test.a.pinggy.link"]
    mode:
      description: Tunnel mode.
      type: str
      sample: http
    mode_udp:
      description: V(udp) for a UDP tunnel, else empty.
      type: str
    client_ip:
      description: Address of the SSH client, as the API gives it.
      type: str
      sample: "[5.7.152.215]:48696"
    port:
      description: Public port for tcp, tlstcp and udp tunnels; null for http and tls.
      type: int
    duration_seconds:
      description: Derived. Seconds between start and end; null while the session runs or a time is unusable.
      type: float
      sample: 50321.723
    client_address:
      description: Derived. The IP address part of C(client_ip) (IPv4 or IPv6, without brackets).
      type: str
      sample: 5.7.152.215
    client_port:
      description: Derived. The port part of C(client_ip).
      type: int
      sample: 48696
"""

import typing as t
from datetime import datetime, timezone

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import HISTORY_PAGE_SIZE_MAX, MAX_WORKERS_LIMIT
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import (
    compile_query,
    normalize_history,
    redact_tokens,
    run_query,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import PinggyPluginBase
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._history import checked_int, filter_records, resolve_date_range
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import make_unsafe

PAGE_SIZE_MAX = HISTORY_PAGE_SIZE_MAX


class LookupModule(PinggyPluginBase, LookupBase):
    """Every page of the session history over a date range, normalized and filtered."""

    error_class = AnsibleLookupError
    # Connection settings from pinggy_api_* variables may be templates on cores that hand variables over raw.
    templated_origins = ("var: ",)

    def run(self, terms: list[t.Any], variables: t.Optional[dict[str, t.Any]] = None, **kwargs: t.Any) -> list[t.Any]:
        # set_options also rejects unknown options and a mode outside the documented choices, before any request.
        self.set_options(var_options=variables, direct=kwargs)
        with self.pinggy_errors():
            return make_unsafe(self._records(terms))

    def _records(self, terms: list[t.Any]) -> list[t.Any]:
        """Every option checked, then the history fetched, normalized, redacted, filtered and queried."""
        start, end = resolve_date_range(terms, self.get_option("start_date"), self.get_option("end_date"),
                                        self.get_option("days"), datetime.now(timezone.utc).date())
        page_size = checked_int(self.get_option("page_size"), "page_size", 1, PAGE_SIZE_MAX)
        max_workers = checked_int(self.get_option("max_workers"), "max_workers", 1, MAX_WORKERS_LIMIT)
        query = compile_query(self.get_option("query")) if self.get_option("query") is not None else None
        raw_records = self.pinggy_client().history(start, end, page_size=page_size, max_workers=max_workers)
        records = filter_records(
            redact_tokens((normalize_history(record) for record in raw_records), self.get_option("reveal_tokens")),
            modes=self.get_option("mode") or [])
        if query is None:
            return records
        result = run_query(query, records)
        return result if isinstance(result, list) else [result]
