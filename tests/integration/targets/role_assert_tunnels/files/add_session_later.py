"""Add an active session through the emulator's control API after a delay (the gate's wait test).

usage: add_session_later.py CONTROL_URL DELAY_SECONDS SESSION_JSON
"""

import sys
import time
import urllib.request


def main():
    control_url, delay, session = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    time.sleep(delay)
    request = urllib.request.Request(control_url.rstrip("/") + "/sessions", data=session.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        sys.exit(0 if answer.status == 201 else 1)


if __name__ == "__main__":
    main()
