#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pinggy_sessions_info
short_description: List the active Pinggy tunnels of an account
version_added: 0.1.0
description:
  - Lists the active tunnels (sessions) of a Pinggy account through the Pinggy API.
  - Each tunnel is returned as a normalized record; it can be filtered by mode, subdomain and token name,
    and reduced with a JMESPath O(query).
  - The module only reads; it never changes anything and always reports RV(ignore:changed=false).
  - Connection options that neither the task nor C(module_defaults) sets are taken from the variables
    C(pinggy_api_key), C(pinggy_api_url), C(pinggy_api_validate_certs), C(pinggy_api_timeout) and
    C(pinggy_api_retries) when they are defined (as the P(pinggy.tunnels.pinggy_history#lookup) lookup does),
    then from the E(PINGGY_*) environment variables where the module runs.
author:
  - Pinggy Tunnels Maintainers (@pinggy)
extends_documentation_fragment:
  - pinggy.tunnels.pinggy
  - pinggy.tunnels.pinggy.action_group
  - pinggy.tunnels.pinggy.filters
  - pinggy.tunnels.pinggy.tokens
  - pinggy.tunnels.pinggy.read_only
options:
  query:
    description:
      - A JMESPath expression applied to the filtered list of sessions; its value is returned as RV(result).
      - Requires the C(jmespath) Python library.
    type: str
requirements:
  - jmespath (only for O(query))
seealso:
  - name: Pinggy API
    description: The API this module reads.
    link: https://pinggy.io/docs/api/
"""

EXAMPLES = r"""
- name: List every active tunnel
  pinggy.tunnels.pinggy_sessions_info:
    api_key: "{{ vault_pinggy_api_key }}"
  register: tunnels

- name: Only TCP tunnels of the production token, under the db- prefix
  pinggy.tunnels.pinggy_sessions_info:
    mode: [tcp, tlstcp]
    subdomain: ["db-*"]
    token_name: [prod]
  register: db_tunnels

- name: Public URLs only, with the API key taken from PINGGY_API_KEY
  pinggy.tunnels.pinggy_sessions_info:
    query: "[].url"
  register: urls

- name: Set the connection once for every pinggy.tunnels task of a play
  module_defaults:
    group/pinggy.tunnels.pinggy:
      api_key: "{{ vault_pinggy_api_key }}"
      timeout: 10
  block:
    - name: Wait up to 2 minutes for the web tunnel to come up
      pinggy.tunnels.pinggy_sessions_info:
        mode: [http]
        subdomain: ["web.example.com"]
      register: web
      until: web.count > 0
      retries: 12
      delay: 10
"""

RETURN = r"""
sessions:
  description:
    - The matching active sessions, in the order the API returned them.
    - Every field of the API answer is included with its name converted to snake_case, so fields added
      to the API later appear too. Strings come from the API and are untrusted data, never templated.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Session identifier.
      type: str
      sample: 9345b393-d916-4a2e-816a-3347468a03c0
    user_id:
      description: Numeric account identifier.
      type: int
      sample: 4490909
    token_id:
      description: Numeric identifier of the token that created the tunnel.
      type: int
      sample: 392084
    token:
      description:
        - The token value, if the API discloses it; redacted (V(****) and its last 4 characters) unless O(reveal_tokens).
      type: str
      sample: null
    token_name:
      description: Name of the token, if it has one.
      type: str
      sample: prod
    virtual_token:
      description:
        - Virtual token of the session; redacted (V(****) and its last 4 characters) unless O(reveal_tokens).
      type: str
      sample: "****0003"
    virtual_token_name:
      description: Name of the virtual token, if any.
      type: str
      sample: null
    subdomain:
      description: The Pinggy-assigned public name.
      type: str
      sample: mytest.v.awesomeapp.a.pinggy.link
    customdomain:
      description: The custom domain of the tunnel, if any.
      type: str
      sample: null
    mode:
      description: Tunnel mode as the API reports it (V(http), V(tcp), V(tls), V(tlstcp)).
      type: str
      sample: tcp
    mode_udp:
      description: V(udp) for a UDP tunnel, else empty.
      type: str
      sample: ""
    port:
      description: Public port for tcp, tlstcp and udp tunnels; null for http and tls.
      type: int
      sample: 10003
    creation_timestamp:
      description: When the session started (ISO 8601).
      type: str
      sample: "2024-08-23T04:04:36.083+00:00"
    last_update_timestamp:
      description: Last update of the session (ISO 8601).
      type: str
      sample: "2024-08-23T04:04:37.780+00:00"
    host:
      description: Derived. The custom domain if set, else the subdomain.
      type: str
      sample: mytest.v.awesomeapp.a.pinggy.link
    url:
      description:
        - Derived. How the tunnel is reached, by mode, V(https://host) for http, V(tls://host:443) for tls,
          V(tcp://host:port) for tcp, V(tls://host:port) for tlstcp, V(udp://host:port) for udp.
        - Null when the mode is unknown, or the host or a needed port is missing or unusable (a port must be an
          integer from 1 to 65535).
      type: str
      sample: tcp://mytest.v.awesomeapp.a.pinggy.link:10003
count:
  description: Number of sessions in RV(sessions).
  returned: success
  type: int
  sample: 1
result:
  description: The value of O(query) applied to RV(sessions).
  returned: when O(query) is set
  type: raw
  sample: ["tcp://mytest.v.awesomeapp.a.pinggy.link:10003"]
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    PinggyError,
    client_from_options,
    connection_argument_spec,
    secret_forms,
)
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import (
    HAS_JMESPATH,
    JMESPATH_IMPORT_ERROR,
    MODES,
    compile_query,
    filter_sessions,
    normalize_active,
    redact_tokens,
    run_query,
)


def argument_spec() -> dict[str, dict[str, t.Any]]:
    """The connection options plus this module's filters and query."""
    spec = connection_argument_spec()
    spec.update(
        mode={"type": "list", "elements": "str", "choices": list(MODES)},
        subdomain={"type": "list", "elements": "str"},
        token_name={"type": "list", "elements": "str"},
        query={"type": "str"},
        reveal_tokens={"type": "bool", "default": False},
    )
    return spec


def run(module: AnsibleModule) -> dict[str, t.Any]:
    """The module's result; any failure is a PinggyError with one line (the query is compiled before any request)."""
    params = module.params
    query = compile_query(params["query"]) if params["query"] is not None else None
    raw_sessions = client_from_options(params, module.warn).active_sessions()
    sessions = filter_sessions(
        redact_tokens((normalize_active(record) for record in raw_sessions), params["reveal_tokens"]),
        modes=params["mode"],
        subdomains=params["subdomain"],
        token_names=params["token_name"],
    )
    result = {"changed": False, "sessions": sessions, "count": len(sessions)}
    if query is not None:
        result["result"] = run_query(query, sessions)
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # Mask the key as the client sends it and a password in api_url, wherever the module echoes its arguments.
    module.no_log_values.update(secret_forms(module.params))
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    if module.params["query"] is not None and not HAS_JMESPATH:
        module.fail_json(msg=missing_required_lib("jmespath"), exception=JMESPATH_IMPORT_ERROR)
    try:
        result = run(module)
    except PinggyError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
