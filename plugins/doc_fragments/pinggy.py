# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Pinggy API connection options, shared by every plugin of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    """Connection options (descriptions); the PLUGINS fragment adds config sources for controller plugins."""

    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - Pinggy API key, sent as a Bearer token.
      - Create one at U(https://dashboard.pinggy.io/api-keys).
      - If not set, the value of the E(PINGGY_API_KEY) environment variable is used.
      - Whitespace around the key is ignored, so a key read from a file or a secret store may end in a newline.
        A key holding any other control or non-ASCII character is refused, without showing it.
      - The key is never shown, whole or in part, in output, error messages, logs or caches.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the Pinggy API, up to and including C(/backend/api/v1). A trailing C(/) is ignored.
      - An C(http) or C(https) URL with a host and no user name, password, query, fragment or spaces.
      - Redirects are not followed - a C(3xx) answer fails with one line naming its C(Location) - so the server's answer
        cannot send the client to another host, port or scheme (the controller's loopback, a cloud metadata address,
        plain http). Set the address that answers.
      - If not set, the value of the E(PINGGY_API_URL) environment variable is used.
      - Point it at the emulator shipped in C(tests/emulator/) to try the collection without an account.
    type: str
    default: https://dashboard.pinggy.io/backend/api/v1
  validate_certs:
    description:
      - Verify the TLS certificate of O(api_url).
      - With V(true), a CA bundle named by E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) is used (for corporate CAs).
      - Setting it to V(false) emits a warning; use it only against a test server. It is honoured whatever
        the environment says.
      - Only real booleans are accepted (V(true)/V(false), V(yes)/V(no), V(on)/V(off), V(1)/V(0)); anything else is an error.
      - If not set, the value of the E(PINGGY_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  timeout:
    description:
      - Deadline in seconds for each attempt of each HTTP request, covering connect, headers and the whole body.
      - Above 0 and at most 3600.
      - With retries, a request takes at most (O(retries) + 1) times O(timeout), plus the back-off between
        attempts (0, 1, 2, 4 ... seconds) or the server's C(Retry-After) (each capped at 60 seconds).
      - If not set, the value of the E(PINGGY_TIMEOUT) environment variable is used.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried after a connection error, a timeout, or HTTP 429, 502, 503 or 504.
      - Retries back off exponentially and honour the server's C(Retry-After) header, capped at 60 seconds.
      - From V(0) (no retries) to V(10).
      - If not set, the value of the E(PINGGY_RETRIES) environment variable is used.
    type: int
    default: 3
notes:
  - Requires the C(requests) Python library on the host that talks to the API.
  - Every answer of the API is read up to 128 MiB (100,000 active tunnels take about 37 MB, a history page of 2000
    records under 1 MB); a longer one fails with one line naming the endpoint and the host, on every attempt and
    without a retry. JSON nested too deeply to read fails with one line as well, and a value nested more than 32
    levels deep in an answer is replaced by a text saying so, with a warning, and the rest of the record is kept.
requirements:
  - requests >= 2.25
"""

    # Controller-side plugins (lookups, inventory) read the same options from the environment
    # through Ansible's config system; modules use an argument-spec fallback instead.
    PLUGINS = r"""
options:
  api_key:
    env:
      - name: PINGGY_API_KEY
  api_url:
    env:
      - name: PINGGY_API_URL
  validate_certs:
    env:
      - name: PINGGY_VALIDATE_CERTS
  timeout:
    env:
      - name: PINGGY_TIMEOUT
  retries:
    env:
      - name: PINGGY_RETRIES
"""

    # The lookup also reads the connection settings from play variables, so that a play, group_vars or a
    # vault file can set them once for every plugin (the module reads the same variables through its action).
    VARS = r"""
options:
  api_key:
    vars:
      - name: pinggy_api_key
  api_url:
    vars:
      - name: pinggy_api_url
  validate_certs:
    vars:
      - name: pinggy_api_validate_certs
  timeout:
    vars:
      - name: pinggy_api_timeout
  retries:
    vars:
      - name: pinggy_api_retries
"""

    # Tunnel tokens in results (module, lookup, inventory): referenced as pinggy.tunnels.pinggy.tokens.
    TOKENS = r"""
options:
  reveal_tokens:
    description:
      - Return tunnel tokens whole.
      - The token fields C(token), C(token_value), C(virtual_token) and C(virtual_token_value) hold what
        C(ssh TOKEN@a.pinggy.io) authenticates with, so they are credentials. By default each is redacted to
        C(****) and its last 4 characters (only C(****) when shorter than 8 characters), for example C(****0003),
        so tunnels can still be told apart. Token names (C(token_name), C(virtual_token_name)) are never redacted.
      - V(true) returns the tokens as the API gives them. This is sensitive - the results, host variables and
        inventory cache then hold credentials.
    type: bool
    default: false
"""

    # The filters of the active tunnels (module and inventory): pinggy.tunnels.pinggy.filters.
    FILTERS = r"""
options:
  mode:
    description:
      - Keep only tunnels of these modes.
      - A UDP tunnel is one whose C(mode_udp) is V(udp).
    type: list
    elements: str
    choices: [http, tcp, tls, tlstcp, udp]
  subdomain:
    description:
      - Keep only tunnels whose subdomain or custom domain matches one of these shell-style patterns (C(fnmatch)).
      - Matching is case-insensitive, for example V(db-*.a.pinggy.link) or V(*.example.com).
    type: list
    elements: str
  token_name:
    description:
      - Keep only tunnels created with a token of one of these names.
    type: list
    elements: str
"""

    # Modules in the pinggy action group: pinggy.tunnels.pinggy.action_group.
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/pinggy.tunnels.pinggy) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - pinggy.tunnels.pinggy
"""

    # Modules that only read (pinggy_sessions_info, pinggy_debugger_urls): pinggy.tunnels.pinggy.read_only.
    READ_ONLY = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads, so it runs normally in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""
