"""Load the hostile fixture into the emulator, its payloads aimed at a marker file; print the counts as JSON.

Done here rather than in a task: before ansible-core 2.19 a task's arguments are templated, and so would be
the payloads, before the collection ever sees them.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from datetime import datetime, timezone


def main() -> None:
    fixture, marker, control_url = sys.argv[1:4]
    with open(fixture, encoding="utf-8") as handle:
        text = handle.read()
    today = datetime.now(timezone.utc).date().isoformat()
    data = json.loads(text.replace("__MARKER__", marker).replace("__TODAY__", today))
    body = json.dumps({"active": data["active"], "history": data["history"]}).encode()
    request = urllib.request.Request(f"{control_url}/reset", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # nosec - loopback control API
        state = json.load(response)
    print(json.dumps({"active": state["active"], "history": state["history"], "marker": marker}))


if __name__ == "__main__":
    main()
