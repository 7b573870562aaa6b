#!/usr/bin/python
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Test support only (integration targets): not part of the collection's plugins.

from __future__ import annotations

DOCUMENTATION = r"""
module: pinggy_peak_rss
short_description: Run a command and report its exit code, its output and the peak memory of its processes
description:
  - Runs O(argv) in the task's environment (give variables with the task's C(environment) keyword, so that a key
    there is never a module argument), waits for it, and returns C(returncode), C(stdout), C(stderr) and C(peak_rss_mib).
  - C(peak_rss_mib) is the largest resident set of the command or any process below it, from
    C(getrusage(RUSAGE_CHILDREN)) of this module's process, which runs nothing else. A bound on memory, not a timing.
  - Test support for the integration targets of pinggy.tunnels.
author: pinggy.tunnels contributors
options:
  argv:
    description: The command and its arguments (no shell).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: List an inventory and measure its peak memory
  pinggy_peak_rss:
    argv: [ansible-inventory, -i, demo.pinggy.yml, --list]
  environment:
    PINGGY_API_KEY: "{{ emulator_api_key }}"
  register: listed
"""

RETURN = r"""
returncode:
  description: The command's exit code (not C(rc), which would fail the task).
  returned: success
  type: int
stdout:
  description: Its standard output.
  returned: success
  type: str
stderr:
  description: Its standard error.
  returned: success
  type: str
peak_rss_mib:
  description: The largest resident set of the command or any process below it, in MiB.
  returned: success
  type: float
"""

import resource
import subprocess

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(argv=dict(type="list", elements="str", required=True)))
    completed = subprocess.run(module.params["argv"], stdin=subprocess.DEVNULL, capture_output=True, check=False)
    # ru_maxrss is in KiB on Linux; this process has no other child.
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    module.exit_json(changed=False, returncode=completed.returncode, stdout=completed.stdout.decode("utf-8", "replace"),
                     stderr=completed.stderr.decode("utf-8", "replace"), peak_rss_mib=round(peak_kib / 1024.0, 1))


if __name__ == "__main__":
    main()
