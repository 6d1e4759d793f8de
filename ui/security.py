"""Security headers on every response of ``rag serve`` (issue #21): nothing from another origin,
no framing by another site, no content sniffing.

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``), so that the chat's streamed
responses pass through untouched: it only adds headers to each ``http.response.start``. A route that
sets its own ``Content-Security-Policy`` (the document viewer's, stricter: no script at all) keeps it,
with ``frame-ancestors 'none'`` added when it lacks one.

>>> "frame-ancestors 'none'" in PAGE_CSP and "http:" not in PAGE_CSP
True
"""

from __future__ import annotations

from typing import Any

#: The chat page's policy: Gradio's own scripts and styles are inline, so ``'unsafe-inline'`` stays
#: (the answers are escaped on the server: docs/security.md); every source is this server.
PAGE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
            "media-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
#: Sent on every response.
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
}


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response, and a CSP where the route set none."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message.get("type") == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {k.lower(): i for i, (k, _) in enumerate(headers)}
                for key, value in HEADERS.items():
                    if key not in present:
                        headers.append((key, value))
                csp = present.get(b"content-security-policy")
                if csp is None:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                elif b"frame-ancestors" not in headers[csp][1]:
                    headers[csp] = (headers[csp][0], headers[csp][1] + b"; frame-ancestors 'none'")
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
