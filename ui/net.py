"""Listening sockets and a server in a background thread (``rag serve``, tests and load tests)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

DEFAULT_HOST = "127.0.0.1"


def bind(host: str, port: int) -> socket.socket:
    """Open the listening socket (so a busy port is reported before anything is printed).

    Args:
        host: address to bind.
        port: port (0: any free port).

    Returns:
        The bound socket.

    Raises:
        OSError: the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on such sockets, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The http URL a bound socket serves.

    Args:
        sock: a bound socket.

    Returns:
        e.g. ``http://127.0.0.1:7860/``.
    """
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class BackgroundServer:
    """A uvicorn server in a daemon thread (tests, load tests).

    Example::

        with BackgroundServer(create_app(qa)) as srv:
            httpx.get(srv.url + "api/health")
    """

    def __init__(self, app: Any, host: str = DEFAULT_HOST, port: int = 0, header_timeout: float = 10.0):
        """
        Args:
            app: the ASGI app.
            host: address to bind.
            port: port (0: any free one).
            header_timeout: seconds a connection may take to send a request's headers
                (:func:`ui.limits.slow_client_protocol`, as ``rag serve``).
        """
        import uvicorn

        from ui.limits import slow_client_protocol

        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2,
                                http=slow_client_protocol(header_timeout))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="rag-serve", daemon=True)

    def start(self, timeout: float = 30.0) -> "BackgroundServer":
        """Start serving and wait until requests are accepted.

        Args:
            timeout: seconds to wait.

        Returns:
            self.

        Raises:
            RuntimeError: the server did not start in time.
        """
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
