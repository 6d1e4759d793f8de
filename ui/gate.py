"""The gate every request to ``rag serve`` passes: who it is, what it may do, how much it may send.

One pure ASGI middleware (:class:`Gate`), in this order:

1. ``/auth/login`` and ``/auth/logout``: the login page (a form; no script), answered here.
2. **Who**: :meth:`ui.auth.AccessControl.authenticate`. Without a valid credential a page request
   is sent to the login page (303) and anything else gets ``401`` with ``WWW-Authenticate``;
   ``/api/health`` stays reachable (its route then says only ``ok``).
3. **Rate**: costly requests (any POST, PUT, PATCH, DELETE) and refused credentials spend the
   client's bucket (:class:`ui.limits.RateLimiter`); an empty one gets ``429`` + ``Retry-After``.
   A loopback client of an open server is not limited.
4. **What**: uploads and deletions need the ``write`` scope; the document routes check ``?kb=``
   (default: the server's knowledge base). ``POST /api/ask`` and the chat's events check their
   knowledge base themselves, with the principal left in ``scope["state"]["principal"]``.
5. **How much**: a body over ``serve.max_body_kb`` is ``413`` (by ``Content-Length``, or while it
   streams; uploads have their own limits: ``POST /api/documents`` counts them itself, Gradio's
   upload route is held to ``ingest.max_upload_mb``); a body whose next part takes longer than
   ``serve.body_timeout_s`` is ``408``.

Every refusal is a JSON (or, for the login page, HTML) 4xx with one line.
"""

from __future__ import annotations

import html
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

import anyio

from ui.auth import COOKIE, LOOPBACK, AccessControl, AccessError, Principal, Scope
from ui.limits import RateLimiter

log = logging.getLogger(__name__)

LOGIN = "/auth/login"
LOGOUT = "/auth/logout"
#: Routes that name a knowledge base in ``?kb=`` (else the server's default).
KB_ROUTES = ("/api/documents", "/api/jobs/", "/view/")
COSTLY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


class _BodyError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Gate:
    """ASGI middleware: authentication, scopes, rate limits and body limits (see the module doc)."""

    def __init__(self, app: Any, access: AccessControl, default_kb: str, limiter: RateLimiter,
                 max_body: int, max_upload: int, body_timeout: float):
        """
        Args:
            app: the application behind the gate.
            access: who may come in.
            default_kb: the knowledge base of a request that names none.
            limiter: the per-client rate.
            max_body: bytes of a request body other than an upload.
            max_upload: bytes of an upload's body.
            body_timeout: seconds to wait for the next part of a body.
        """
        self.app = app
        self.access = access
        self.default_kb = default_kb
        self.limiter = limiter
        self.max_body = max_body
        self.max_upload = max_upload
        self.body_timeout = body_timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        client = (scope.get("client") or ("?", 0))[0]
        if path in (LOGIN, LOGOUT):
            await self._login(scope, receive, send, method, path, headers, client)
            return
        principal = self.access.authenticate(headers, _cookies(headers))
        limited = self.limiter.enabled and (self.access.required or client not in LOOPBACK)
        if principal is None and path != "/api/health":
            if limited and (wait := self.limiter.take(f"ip:{client}", time.monotonic())):
                await _json(send, 429, "请求过于频繁 / too many requests", retry_after=wait)
                return
            if method == "GET" and "text/html" in headers.get("accept", ""):
                await _redirect(send, f"{LOGIN}?next={_quote_next(scope)}")
            else:
                await _json(send, 401, "需要访问令牌 / a valid token is required (Authorization: Bearer <token>)",
                            extra=[(b"www-authenticate", b'Bearer realm="rag"')])
            return
        if principal is not None and limited and method in COSTLY:
            wait = self.limiter.take(f"token:{principal.name}" if self.access.required else f"ip:{client}",
                                     time.monotonic())
            if wait:
                await _json(send, 429, "请求过于频繁, 请稍后再试 / too many requests, retry later", retry_after=wait)
                return
        if principal is not None:
            try:
                self._authorize(principal, method, path, scope.get("query_string", b""))
            except AccessError as exc:
                await _json(send, exc.status, str(exc))
                return
        scope.setdefault("state", {})["principal"] = principal
        if method == "POST" and path == "/api/documents":
            limit = None        # the route counts the upload itself, naming the limit (ui/documents.py)
        elif method == "POST" and path == "/gradio_api/upload":
            limit = self.max_upload
        else:
            limit = self.max_body
        length = headers.get("content-length", "")
        if limit is not None and length.isdigit() and int(length) > limit:
            await _json(send, 413, _too_large(limit, path))
            return
        await self._forward(scope, receive, send, limit)

    def _authorize(self, principal: Principal, method: str, path: str, query: bytes) -> None:
        write = (method in ("POST", "PUT", "PATCH", "DELETE") and path.startswith("/api/documents")) \
            or path == "/gradio_api/upload"
        need = Scope.WRITE if write else Scope.READ
        if path.startswith(KB_ROUTES):
            kb = (parse_qs(query.decode("latin-1")).get("kb") or [""])[0].strip().lower() or self.default_kb
            principal.require(need, kb)
        elif need not in principal.scopes:
            raise AccessError(f"令牌 {principal.name!r} 没有 {need.value} 权限 / token {principal.name!r} lacks "
                              f"the {need.value} scope")

    async def _forward(self, scope: dict, receive: Any, send: Any, limit: int | None) -> None:
        received = 0
        done = False
        started = False

        async def guarded_receive() -> dict:
            nonlocal received, done
            if done:                        # waiting for a disconnect (streamed answers): no deadline
                return await receive()
            try:
                with anyio.fail_after(self.body_timeout):
                    message = await receive()
            except TimeoutError:
                raise _BodyError(408, "请求体发送过慢 / request body took too long") from None
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if limit is not None and received > limit:
                    raise _BodyError(413, _too_large(limit, scope.get("path", "")))
                done = not message.get("more_body", False)
            return message

        async def watched_send(message: dict) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, watched_send)
        except _BodyError as exc:
            if started:
                raise
            log.info("%s %s refused: %s", scope.get("method"), scope.get("path"), exc)
            await _json(send, exc.status, str(exc))

    async def _login(self, scope: dict, receive: Any, send: Any, method: str, path: str,
                     headers: dict[str, str], client: str) -> None:
        secure = scope.get("scheme") == "https"
        if path == LOGOUT:
            await _redirect(send, LOGIN, cookie=f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        target = _safe_next((query.get("next") or ["/"])[0])
        if method == "GET":
            await _page(send, 200, login_page(target, error=None, required=self.access.required))
            return
        if method != "POST":
            await _json(send, 405, "method not allowed")
            return
        if self.limiter.enabled and (wait := self.limiter.take(f"ip:{client}", time.monotonic())):
            await _json(send, 429, "登录尝试过于频繁 / too many login attempts", retry_after=wait)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > 8192:
                await _json(send, 413, "请求体过大 / request body too large")
                return
            if not message.get("more_body"):
                break
        form = parse_qs(body.decode("utf-8", "replace"))
        target = _safe_next((form.get("next") or [target])[0])
        principal = self.access.check_token((form.get("token") or [""])[0].strip())
        if principal is None:
            log.info("refused a login from %s", client)
            await _page(send, 401, login_page(target, error="令牌无效 / invalid token", required=True))
            return
        cookie = (f"{COOKIE}={self.access.session_cookie(principal)}; Path=/; HttpOnly; SameSite=Strict"
                  + ("; Secure" if secure else ""))
        log.info("%s signed in from %s", principal.name, client)
        await _redirect(send, target, cookie=cookie)


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            out[name] = value
    return out


def _quote_next(scope: dict) -> str:
    from urllib.parse import quote

    path = scope.get("path", "/")
    return quote(path, safe="/")


def _safe_next(target: str) -> str:
    """Only a path on this server (no ``//host`` or scheme): no open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _too_large(limit: int, path: str) -> str:
    setting = "ingest.max_upload_mb" if path == "/gradio_api/upload" else "serve.max_body_kb"
    return f"请求体过大 / request body over {_size(limit)} ({setting})"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


async def _json(send: Any, status: int, message: str, retry_after: float | None = None,
                extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, int(retry_after + 0.999))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Any, location: str, cookie: str | None = None) -> None:
    headers = [(b"location", location.encode("latin-1", "replace")), (b"content-length", b"0"),
               (b"cache-control", b"no-store")]
    if cookie:
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _page(send: Any, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), (b"content-security-policy", LOGIN_CSP.encode())]})
    await send({"type": "http.response.body", "body": body})


def login_page(target: str, error: str | None, required: bool = True) -> str:
    """The login form: one password field, posted to this server; no script.

    >>> "type=\\"password\\"" in login_page("/", None)
    True
    """
    note = ("" if required else '<p class="note">此服务器无需令牌 / this server needs no token.</p>')
    err = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>登录 · 中文文档问答</title>
<style>body{{font-family:system-ui,"WenQuanYi Micro Hei",sans-serif;background:#f8fafc;display:flex;
justify-content:center;padding-top:12vh;margin:0}}form{{background:#fff;border:1px solid #e2e8f0;border-radius:10px;
padding:28px 32px;width:min(360px,90vw)}}h1{{font-size:20px;margin:0 0 16px}}label{{display:block;margin-bottom:6px;
color:#334155}}input[type=password]{{width:100%;box-sizing:border-box;padding:9px;border:1px solid #cbd5e1;
border-radius:6px;font-size:15px}}button{{margin-top:14px;width:100%;padding:9px;border:0;border-radius:6px;
background:#4f46e5;color:#fff;font-size:15px}}.err{{color:#b91c1c}}.note{{color:#475569}}</style></head>
<body><form method="post" action="{LOGIN}"><h1>中文文档问答</h1>{err}{note}
<label for="token">访问令牌 / access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{html.escape(target)}">
<button type="submit">进入 / sign in</button></form></body></html>"""
