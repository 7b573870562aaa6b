#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pinggy_debugger_urls
short_description: Read a tunnel's public URLs from its own ssh's Pinggy web debugger forward
version_added: 0.1.0
description:
  - Reads the public URLs of one Pinggy tunnel from its web debugger, on the managed host, without the API key. The
    tunnel's ssh runs as a systemd service and forwards O(port) of the host's 127.0.0.1 to Pinggy's web debugger
    (C(LocalForward 127.0.0.1:PORT localhost:4300), Pinggy's C(-L4300:localhost:4300)), whose C(GET /urls) lists the
    tunnel's public URLs. The P(pinggy.tunnels.tunnel_service#role) role runs it for each tunnel with a C(debugger_port).
  - A port proves nothing by itself (another tunnel or any local user may hold it, while the tunnel's own ssh cannot
    listen there), so an answer is trusted only from the tunnel's own ssh. Each try asks systemd for the main process
    of O(unit) (C(systemctl show -p MainPID --value)), checks that every socket listening where a connection to
    127.0.0.1:O(port) goes (C(/proc/net/tcp), C(/proc/net/tcp6)) is held by that process (C(/proc/PID/fd)), sends
    C(GET /urls), and checks again that the same process still holds the same listener. Reading another user's
    C(/proc/PID/fd) needs root, so run it with C(become).
  - The read is bounded. No proxy, no redirect followed, HTTP status 200 only, at most 64 KiB of body (a longer answer
    is not parsed), and O(timeout) is a deadline over every try, connect, head and body included.
  - The answer is untrusted data. A URL is kept only if it is exactly C(scheme://host) or C(scheme://host:port)
    (schemes C(http), C(https), C(tcp), C(tls), C(tlstcp); a DNS host name of two labels or more that is neither an IP
    address in any form nor localhost; a port from 1 to 65535), rebuilt from those parts, lower-cased, each once and
    at most 16. So what is returned is made of letters, digits and C(.:/-) only, and a template in an answer is
    dropped, never run. No message quotes the answer.
  - The module only reads; it never changes anything and always reports RV(ignore:changed=false).
author:
  - Pinggy Tunnels Maintainers (@pinggy)
extends_documentation_fragment:
  - pinggy.tunnels.pinggy.read_only
options:
  unit:
    description:
      - The systemd service that runs the tunnel's ssh, for example V(pinggy-tunnel@web.service). Its main process
        must be the ssh holding the forward.
      - Letters, digits and C(:_.@-\\) only, not starting with C(-), ending in C(.service).
    type: str
    required: true
  port:
    description: The port of 127.0.0.1 the tunnel's ssh forwards to the web debugger, from 1 to 65535.
    type: int
    required: true
  timeout:
    description:
      - Seconds before the module gives up, from 1 to 3600. A deadline, not a count of tries, and no read outlives it.
    type: int
    default: 60
  delay:
    description: Seconds between two tries while the URLs have not come (ssh may still be connecting); from 1 to 60.
    type: int
    default: 2
requirements:
  - systemd (C(systemctl)) and Linux C(/proc) on the managed host.
seealso:
  - name: Pinggy web debugger API
    description: The C(/urls) endpoint this module reads.
    link: https://pinggy.io/docs/api/web_debugger_api/
  - module: pinggy.tunnels.pinggy_sessions_info
    description: The same tunnels as the Pinggy API lists them (needs the API key).
"""

EXAMPLES = r"""
- name: Public URLs of the web tunnel, read through its debugger_port
  pinggy.tunnels.pinggy_debugger_urls:
    unit: pinggy-tunnel@web.service
    port: 4301
  become: true
  register: web

- name: Show them
  ansible.builtin.debug:
    var: web.urls   # ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]

- name: Give each tunnel 30 seconds, and let the play go on to report every failure at once
  pinggy.tunnels.pinggy_debugger_urls:
    unit: "pinggy-tunnel@{{ item.name }}.service"
    port: "{{ item.port }}"
    timeout: 30
  become: true
  loop: [{name: web, port: 4301}, {name: ssh, port: 4302}]
  register: answers
  failed_when: false
"""

RETURN = r"""
urls:
  description:
    - The tunnel's public URLs, as its own web debugger lists them, checked and rebuilt; V([]) on failure.
  returned: always
  type: list
  elements: str
  sample: ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]
pid:
  description: The main process of O(unit) (the tunnel's ssh) whose listener gave the answer.
  returned: success
  type: int
  sample: 4242
problem:
  description:
    - Why no URL came, the last try's reason without the unit's name (RV(msg) holds both), for example
      V(no answer), V(HTTP 404), V(answer over 64 KiB), V(no public URL in the answer),
      V(port 4301 on 127.0.0.1 is held by another process (pid 777\), not pinggy-tunnel@web.service's ssh (pid 4242\)).
  returned: failure
  type: str
  sample: HTTP 404
msg:
  description: On failure, one line naming the unit and why.
  returned: failure
  type: str
  sample: "pinggy-tunnel@web.service: no public URL from 127.0.0.1:4301/urls within 60 s (HTTP 404)"
"""

import re
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pinggy.tunnels.plugins.module_utils._debugger_reader import MainPid, read_urls

# A systemd service name (systemd.unit(5): letters, digits, ":-_.\" and "@" for instances); never an option to systemctl.
_UNIT = re.compile(r"[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]{0,246}\.service")
_RANGES = {"port": (1, 65535), "timeout": (1, 3600), "delay": (1, 60)}


def argument_spec() -> dict[str, dict[str, t.Any]]:
    return {
        "unit": {"type": "str", "required": True},
        "port": {"type": "int", "required": True},
        "timeout": {"type": "int", "default": 60},
        "delay": {"type": "int", "default": 2},
    }


def option_problem(params: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """One line naming the first option out of its range (a bool is not a number here), or None."""
    if not _UNIT.fullmatch(params["unit"]):
        return f"unit must be a systemd service name (letters, digits, ':_.@-', ending in .service), got {params['unit']!r}"
    for name, (low, high) in _RANGES.items():
        value = params[name]
        if isinstance(value, bool) or not low <= value <= high:
            return f"{name} must be an integer from {low} to {high}, got {value!r}"
    return None


def main_pid_reader(module: AnsibleModule, unit: str) -> t.Callable[[], MainPid]:
    """Asks systemd for the unit's main process (0 when it runs none), argv form, nothing through a shell."""
    systemctl = module.get_bin_path("systemctl", required=True)

    def main_pid() -> MainPid:
        rc, out, err = module.run_command([systemctl, "show", "-p", "MainPID", "--value", unit])
        value = out.strip()
        if rc != 0 or not value.isdigit():
            reason = (err.strip().splitlines() or [f"rc {rc}"])[0][:200]
            return None, f"systemctl show {unit} failed: {reason}"
        if value == "0":
            return None, f"{unit} is not running"
        return int(value), None
    return main_pid


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problem = option_problem(params)
    if problem is not None:
        module.fail_json(msg=problem, urls=[])
    unit, port, timeout = params["unit"], params["port"], params["timeout"]
    reading = read_urls(unit, port, timeout, params["delay"], main_pid_reader(module, unit))
    if not reading.urls:
        module.fail_json(msg=f"{unit}: no public URL from 127.0.0.1:{port}/urls within {timeout} s ({reading.problem})",
                         urls=[], problem=reading.problem)
    module.exit_json(changed=False, urls=reading.urls, pid=reading.pid)


if __name__ == "__main__":
    main()
