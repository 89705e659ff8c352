"""What every loopback fake shares: a threaded server on 127.0.0.1 that tracks its
connections so it can close them all at exit, and a keep-alive request handler."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """A server on 127.0.0.1 (a port the OS picks) that knows its open connections."""

    daemon_threads = True
    thread_name = "fake-connection"

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self._conn_lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._conn_threads: list[threading.Thread] = []

    def process_request(self, request: Any, client_address: Any) -> None:
        # Our own bookkeeping: ThreadingMixIn does not track daemon threads, and keep-alive
        # connections would otherwise outlive the context manager.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=self.thread_name,
            daemon=True,
        )
        with self._conn_lock:
            self._open.add(request)
            self._conn_threads = [t for t in self._conn_threads if t.is_alive()]
            self._conn_threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (timeouts, dropped-connection tests) is expected traffic.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        with self._conn_lock:
            sockets, threads = list(self._open), list(self._conn_threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)


class KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, answered at once, with Google's front end's Server header."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm meets the
        # client's delayed ACK and every keep-alive request waits about 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return "ESF"  # the real front end's Server header
