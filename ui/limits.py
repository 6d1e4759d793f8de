"""Request limits of ``rag serve``: a per-client rate, and a connection that reads its request too slowly.

* :class:`RateLimiter`: a token bucket per client; an empty bucket answers how long to wait, which
  becomes ``429`` with ``Retry-After``.
* :func:`slow_client_protocol`: uvicorn's h11 protocol with a deadline for the request line and
  headers. uvicorn has none, so a client that trickles a header byte every few seconds (slowloris)
  would hold a connection forever; past the deadline it gets ``408`` and the connection is closed.

>>> rl = RateLimiter(per_minute=60, burst=2)
>>> [rl.take("a", now=0.0) for _ in range(3)]
[0.0, 0.0, 1.0]
>>> rl.take("a", now=1.0), rl.take("b", now=1.0)
(0.0, 0.0)
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

#: Buckets kept at most; idle full ones are dropped first (a flood of new addresses cannot grow memory).
MAX_CLIENTS = 10_000


class RateLimiter:
    """Token buckets keyed by client: ``burst`` requests at once, then ``per_minute`` a minute."""

    def __init__(self, per_minute: float, burst: int):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}     # key -> (tokens, time)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when the rate is 0 (no limit)."""
        return self.rate > 0

    def take(self, key: str, now: float) -> float:
        """Spend one request of ``key``'s bucket.

        Args:
            key: the client (a token's name, or an address).
            now: the time in seconds (monotonic).

        Returns:
            0.0 if allowed, else the seconds until one request is allowed again.
        """
        if not self.enabled:
            return 0.0
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._trim(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _trim(self, now: float) -> None:
        if len(self._buckets) <= MAX_CLIENTS:
            return
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.burst]
        for k in full or list(self._buckets)[: len(self._buckets) // 10]:
            del self._buckets[k]


def slow_client_protocol(header_timeout: float) -> type:
    """uvicorn's h11 protocol class with a deadline for each request's line and headers.

    Args:
        header_timeout: seconds from a connection's opening, or from the first byte of a later
            request on a kept-alive connection, to the end of that request's headers (an idle
            kept-alive connection is closed by uvicorn's own keep-alive timeout).

    Returns:
        A protocol class for ``uvicorn.Config(http=...)``.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    body = json.dumps({"error": "请求发送过慢 / request headers took too long"}).encode()
    response = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    class SlowClientH11(H11Protocol):
        """Closes a connection whose request headers are not complete in time."""

        _deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            log.info("closing a connection from %s: request headers not complete after %.0f s",
                     self.client, header_timeout)
            self.transport.write(response)
            self.transport.close()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()                     # a connection that sends nothing at all is cut off too

        def data_received(self, data: bytes) -> None:
            scope = self.scope
            if self._deadline is None and self._between_requests():
                self._arm()                 # the first bytes of the next request on a kept-alive connection
            super().data_received(data)
            if self.scope is not scope:     # a request's headers were parsed: the app has it now
                self._disarm()

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return SlowClientH11
