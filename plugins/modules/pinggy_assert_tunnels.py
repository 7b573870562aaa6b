#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pinggy_assert_tunnels
short_description: Fail unless the expected Pinggy tunnels are up (a deployment gate in one task)
version_added: 0.1.0
description:
  - Reads the active tunnels of a Pinggy account until every expectation in O(expected) is met or
    O(wait_timeout) has passed, optionally probes the matched tunnels, and fails with one message naming every
    unmet expectation, the tunnels seen, and every failed probe.
  - Runs on the controller, in the Ansible process (an action plugin, as C(ansible.builtin.assert) is), so no module
    is sent anywhere, whatever the play's hosts; use C(run_once) to gate a whole play once.
  - The gate never passes without a successful API answer; an API error (a wrong key, an outage) fails it at once,
    even while waiting.
  - Matching is the P(pinggy.tunnels.tunnel_expectations#filter) filter's, and the failure message is the one of
    the C(pinggy.tunnels.assert_tunnels) role, which runs this action.
  - Connection options that neither the task nor C(module_defaults) sets are taken from the variables
    C(pinggy_api_key), C(pinggy_api_url), C(pinggy_api_validate_certs), C(pinggy_api_timeout) and
    C(pinggy_api_retries) when they are defined, then from the E(PINGGY_*) environment variables of the controller.
author:
  - Pinggy Tunnels Maintainers (@pinggy)
extends_documentation_fragment:
  - pinggy.tunnels.pinggy
  - pinggy.tunnels.pinggy.action_group
  - action_common_attributes
  - action_common_attributes.conn
  - action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  connection:
    support: none
  check_mode:
    support: full
    details: The action only reads the API and probes (connects, GETs); it runs normally in check mode.
  delegation:
    support: none
    details: It always runs on the controller; C(delegate_to) only changes whose variables it sees.
  diff_mode:
    support: none
  platform:
    platforms: all
options:
  expected:
    description:
      - The expected tunnels. A tunnel matches an expectation when it matches every key given in it.
      - An expectation with no key but O(expected[].min_count) counts all tunnels.
    type: list
    elements: dict
    required: true
    suboptions:
      subdomain:
        description: Shell-style pattern matched case-insensitively against the subdomain or the custom domain.
        type: str
      custom_domain:
        description: The custom domain of the tunnel, compared case-insensitively.
        type: str
      mode:
        description: The tunnel mode.
        type: str
        choices: [http, tcp, tls, tlstcp, udp]
      token_name:
        description: The name of the token the tunnel was created with.
        type: str
      port:
        description: The public port of the tunnel.
        type: int
      min_count:
        description: How many tunnels must match, at least 1.
        type: int
        default: 1
  wait_timeout:
    description:
      - How long to wait, in seconds, for every expectation to be met; V(0) checks once.
      - The active tunnels are read again every O(delay) seconds until then; an API error ends the wait at once.
      - Named so because O(timeout) is the deadline of each API request.
    type: int
    default: 0
  delay:
    description: Seconds between two reads of the active tunnels while waiting, at least 1.
    type: int
    default: 5
  probe:
    description:
      - Also connect to each matched tunnel, concurrently - a TCP connect for tcp and tlstcp tunnels, an HTTP GET of
        the tunnel's URL plus O(probe_path) for http tunnels. tls and udp tunnels are not probed.
      - The API has no health field, so without probing "up" means "the session exists".
      - Probes connect only to the matched tunnel's host and port (or O(probe_address)), never to a URL taken from
        the API's text. A tunnel whose host is not a valid DNS name, or whose port (tcp, tlstcp) is not an integer
        from 1 to 65535, is not contacted and counts as a failed probe.
      - A host from the API is contacted only when it is a DNS host name, decided from its text before any lookup - not
        an IP address in any form a resolver accepts (its top label is numeric, as in C(127.0.0.1), C(127.1),
        C(2130706433), C(0x7f000001), C(0177.0.0.1), C(0), C(169.254.169.254); or an IPv6 literal such as C(::1),
        C([::1]), C(fe80::1%eth0)), not C(localhost) nor a name under it, and not a name of one label (the resolver
        completes it with its search domains, as C(metadata) on a cloud VM). Otherwise the probe fails with
        "the tunnel's host is an IP address, not probed" (or "is localhost", "is a single label ..."), so API data cannot
        aim probes at the controller's own or link-local services. O(probe_address) is the user's and is trusted as given.
    type: bool
    default: false
  probe_timeout:
    description: Seconds each probe may take; a TCP probe keeps trying to connect until then. At least 1.
    type: int
    default: 10
  probe_status:
    description:
      - The HTTP status codes that pass an HTTP probe.
      - Redirects are never followed - a redirect is the tunnel's answer, judged as any status, so a C(302) fails unless
        listed here, and a tunnel cannot send the probe (with its C(Host) header) to another host or scheme.
    type: list
    elements: int
    default: [200]
  probe_path:
    description: The path an HTTP probe requests, starting with C(/).
    type: str
    default: /
  probe_address:
    description:
      - Probe through this address instead of each tunnel's public host (a private resolver, a proxy, or the
        loopback address of the Pinggy API emulator's tunnels).
      - TCP probes then connect to this address and the tunnel's port; HTTP probes request
        C(http://<address>[:<tunnel port>]<path>) with the tunnel's host as the C(Host) header.
      - This value is trusted as given (it may be an IP address or C(localhost)); the checks on the tunnel's host
        (a DNS name, not an address nor localhost) still decide whether a tunnel is probed.
    type: str
  probe_validate_certs:
    description: Whether HTTPS probes check the tunnel's certificate.
    type: bool
    default: true
seealso:
  - module: pinggy.tunnels.pinggy_sessions_info
  - plugin: pinggy.tunnels.tunnel_expectations
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Gate the deployment on the database tunnel, waiting up to 2 minutes
  pinggy.tunnels.pinggy_assert_tunnels:
    api_key: "{{ vault_pinggy_api_key }}"
    expected:
      - {subdomain: "db-*", mode: tcp, port: 5432}
    wait_timeout: 120
    delay: 2
  run_once: true

- name: Two http tunnels, answering 200 or 204 on /healthz
  pinggy.tunnels.pinggy_assert_tunnels:
    expected:
      - {mode: http, min_count: 2}
    probe: true
    probe_path: /healthz
    probe_status: [200, 204]
  register: gate
"""

RETURN = r"""
matched:
  description: The tunnels that matched an expectation, each once, as M(pinggy.tunnels.pinggy_sessions_info) returns them.
  returned: when the API answered
  type: list
  elements: dict
attempts:
  description: How many times the active tunnels were read.
  returned: when the API answered
  type: int
  sample: 3
elapsed:
  description: Seconds from the first read to the answer.
  returned: when the API answered
  type: float
  sample: 4.012
probes:
  description: One entry per probe, when O(probe) is set and every expectation was met.
  returned: when the API answered
  type: list
  elements: dict
  contains:
    label:
      description: The tunnel's URL.
      type: str
      sample: tcp://db-1.a.pinggy.link:15432
    kind:
      description: V(tcp), V(http), or V(invalid) for a tunnel without a usable host or port (not contacted).
      type: str
    ok:
      description: Whether the probe passed.
      type: bool
    msg:
      description: What the probe found.
      type: str
"""
