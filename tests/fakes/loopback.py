"""What every loopback fake shares: a threaded server on 127.0.0.1 that tracks its
connections so it can close them all at exit, and a keep-alive request handler."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

F = TypeVar("F", bound="LoopbackFake")


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


class LoopbackFake:
    """The life of a fake: ``with Fake() as fake:`` serves on 127.0.0.1 from a daemon thread
    until the block ends, then cuts open connections (and pending delays) and joins.

    A subclass passes ``make_server`` (builds its :class:`LoopbackServer` for ``self``) and
    its name, used in thread names and messages.
    """

    def __init__(self, name: str, make_server: Callable[[], LoopbackServer]) -> None:
        self._name = name
        self._make_server = make_server
        self._stopping = threading.Event()
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    def start(self: F) -> F:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{self._name} is already running")
        self._stopping.clear()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self._name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (and pending delays), and join the threads."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections(timeout=5)
        server.server_close()
        if thread is not None:
            thread.join(5)
        self._server = self._thread = None

    def __enter__(self: F) -> F:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, to put where Google's address was."""
        if self._server is None:
            raise RuntimeError(f"{self._name} is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
