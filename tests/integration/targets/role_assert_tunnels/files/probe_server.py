"""A loopback HTTP server for the probe tests: GET /<status> answers with that status, GET /redirect/<port> with 302
to http://127.0.0.1:<port>/200.

usage: probe_server.py READY_FILE LIFETIME_SECONDS
Writes {"port": P, "pid": N, "log": L} to READY_FILE once listening and exits after LIFETIME_SECONDS,
so a failed test run leaves no process behind. L (READY_FILE.log) gets a line for every connection accepted
("connect") and every request ("GET <path> <Host>"), so a test can tell that nothing reached this server.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingServer(ThreadingHTTPServer):
    log_path = ""

    def record(self, line):
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def get_request(self):
        accepted = super().get_request()
        self.record("connect")
        return accepted


class StatusHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.record(f"GET {self.path} {self.headers.get('Host')}")
        redirect_port = self.path[len("/redirect/"):] if self.path.startswith("/redirect/") else None
        try:
            status = 302 if redirect_port else int(self.path.strip("/") or "200")
        except ValueError:
            status = 404
        body = json.dumps({"status": status, "host": self.headers.get("Host")}).encode()
        self.send_response(status)
        if redirect_port:
            self.send_header("Location", f"http://127.0.0.1:{redirect_port}/200")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


def main():
    ready_file, lifetime = sys.argv[1], float(sys.argv[2])
    server = RecordingServer(("127.0.0.1", 0), StatusHandler)
    server.log_path = ready_file + ".log"
    open(server.log_path, "w", encoding="utf-8").close()
    threading.Timer(lifetime, server.shutdown).start()
    with open(ready_file + ".tmp", "w", encoding="utf-8") as handle:
        json.dump({"port": server.server_address[1], "pid": os.getpid(), "log": server.log_path}, handle)
    os.replace(ready_file + ".tmp", ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
