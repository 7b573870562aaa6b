"""A web debugger stand-in for tests: a TCP server on 127.0.0.1, in a thread of this process, answering raw bytes."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import typing as t

URLS_BODY = b'{"urls": ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]}'
URLS = ["http://abc.a.free.pinggy.link", "https://abc.a.free.pinggy.link"]


class Server:
    """A TCP server on 127.0.0.1 in a thread, answering every connection with ``answer(connection)``."""

    def __init__(self, answer: t.Callable[[socket.socket], None]) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._answer = answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _address = self._socket.accept()
            except OSError:
                return
            with connection, contextlib.suppress(OSError):
                connection.recv(4096)
                self._answer(connection)

    def close(self) -> None:
        self._stop.set()
        self._socket.close()


@contextlib.contextmanager
def serving(answer: t.Union[bytes, t.Callable[[socket.socket], None]]) -> t.Iterator[Server]:
    server = Server(answer if callable(answer) else lambda connection: connection.sendall(t.cast(bytes, answer)))
    try:
        yield server
    finally:
        server.close()


def http(status: str, body: bytes, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n".encode() + body


@contextlib.contextmanager
def another_process() -> t.Iterator[int]:
    """The pid of a process that holds none of this process's sockets (Popen closes them in the child)."""
    with subprocess.Popen(["sleep", "60"]) as child:
        try:
            yield child.pid
        finally:
            child.kill()
