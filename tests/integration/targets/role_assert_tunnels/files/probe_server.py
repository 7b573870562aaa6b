"""A loopback HTTP server for the probe tests: GET /<status> answers with that status.

usage: probe_server.py READY_FILE LIFETIME_SECONDS
Writes {"port": P, "pid": N} to READY_FILE once listening and exits after LIFETIME_SECONDS,
so a failed test run leaves no process behind.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StatusHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            status = int(self.path.strip("/") or "200")
        except ValueError:
            status = 404
        body = json.dumps({"status": status, "host": self.headers.get("Host")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


def main():
    ready_file, lifetime = sys.argv[1], float(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusHandler)
    threading.Timer(lifetime, server.shutdown).start()
    with open(ready_file + ".tmp", "w", encoding="utf-8") as handle:
        json.dump({"port": server.server_address[1], "pid": os.getpid()}, handle)
    os.replace(ready_file + ".tmp", ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
