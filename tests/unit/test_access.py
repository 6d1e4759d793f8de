"""Access control and request limits of ``rag serve`` (issue #21), with a fake encoder: tokens,
scopes, knowledge bases, the login page and its cookie, rate limits, body limits and timeouts,
and the slow-client deadline on a real uvicorn socket.

The same checks with the real model and a real ``rag serve`` process: ``tests/e2e/test_access_server.py``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time

import anyio
import pytest

from rag.config import Settings
from rag.errors import SettingsError
from tests.fakes import HashEncoder
from ui.auth import (COOKIE, LOCAL, AccessControl, Scope, TokenEntry, access_for, load_tokens, save_tokens)

SETTINGS = Settings().with_overrides({"embed.model": "fake-hash", "reader.weights": "off"})
ADMIN, READER, HR, WRITER = ("admin-token-0123456789", "reader-token-0123456789", "hr-token-0123456789",
                             "writer-token-0123456789")


def entries() -> list[TokenEntry]:
    return [TokenEntry.of("admin", ADMIN, set(Scope)), TokenEntry.of("reader", READER, {Scope.READ}),
            TokenEntry.of("hr", HR, {Scope.READ, Scope.WRITE}, {"hr"}),
            TokenEntry.of("writer", WRITER, {Scope.WRITE})]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- tokens ----------------------------------------------------------------------------------

def test_token_file_keeps_digests_only_and_is_private(tmp_path):
    path = tmp_path / "tokens.json"
    save_tokens(path, entries())
    text = path.read_text(encoding="utf-8")
    for token in (ADMIN, READER, HR):
        assert token not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_tokens(path) == entries()


@pytest.mark.parametrize("body,words", [
    ("not json", "not a token list"),
    ('{"tokens": [{"name": "a"}]}', "sha256"),
    ('{"tokens": [{"name": "a b", "sha256": "' + "0" * 64 + '"}]}', "token name"),
    ('{"tokens": [{"name": "a", "sha256": "xyz"}]}', "64 hex"),
    ('{"tokens": [{"name": "a", "sha256": "' + "0" * 64 + '", "scopes": ["admin"]}]}', "unknown"),
])
def test_bad_token_files_are_one_line_errors(tmp_path, body, words):
    path = tmp_path / "t.json"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(SettingsError, match=words):
        load_tokens(path)


def test_tokens_and_cookies_check_out_and_forgeries_do_not():
    access = AccessControl(entries())
    assert access.check_token(READER).name == "reader"
    assert access.check_token(READER + "x") is None and access.check_token("") is None
    p = access.check_token(HR)
    cookie = access.session_cookie(p, now=1000.0)
    assert access.from_cookie(cookie, now=1001.0) == p
    name, expires, mac = cookie.rsplit(".", 2)
    assert access.from_cookie(f"admin.{expires}.{mac}", now=1001.0) is None       # another name
    assert access.from_cookie(f"{name}.{int(expires) + 99}.{mac}", now=1001.0) is None   # a longer life
    assert access.from_cookie(cookie, now=float(expires) + 1) is None              # expired
    assert AccessControl(entries()).from_cookie(cookie, now=1001.0) is None         # another server's secret
    revoked = AccessControl([e for e in entries() if e.name != "hr"], secret=access.secret)
    assert revoked.from_cookie(cookie, now=1001.0) is None                         # token removed: session ends
    assert access.authenticate({"authorization": f"Bearer {READER}"}, {}).name == "reader"
    assert access.authenticate({}, {COOKIE: access.session_cookie(p)}) == p
    assert AccessControl().authenticate({}, {}) is LOCAL


def test_a_team_address_needs_a_token():
    with pytest.raises(SettingsError, match="without a token"):
        access_for(SETTINGS, "0.0.0.0")
    assert not access_for(SETTINGS, "127.0.0.1").required
    with pytest.raises(SettingsError, match="at least 16"):
        access_for(SETTINGS.with_overrides({"serve.auth_token": "short"}), "0.0.0.0")
    access = access_for(SETTINGS.with_overrides({"serve.auth_token": ADMIN}), "0.0.0.0")
    assert access.required and access.check_token(ADMIN).scopes == frozenset(Scope)
    assert Settings.from_env({"RAG_AUTH_TOKEN": ADMIN}).as_dict()["serve"]["auth_token"] == "***"


# --- the gate, through the whole app ----------------------------------------------------------

@pytest.fixture(scope="module")
def app_factory(tmp_path_factory):
    from fastapi.testclient import TestClient

    from rag.kb import KnowledgeBases
    from rag.pipeline import QASystem
    from ui.server import create_app

    root = tmp_path_factory.mktemp("access")
    made = []

    def make(settings: Settings = SETTINGS, access: AccessControl | None = None, ui: bool = False) -> TestClient:
        (root / "corpus").mkdir(exist_ok=True)
        (root / "corpus" / "policy.txt").write_text("上海政策\n上海印发的《措施》提出给予最高10%的租用补贴。",
                                                    encoding="utf-8")
        hr = root / "kb" / "hr" / "corpus"
        hr.mkdir(parents=True, exist_ok=True)
        (hr / "leave.txt").write_text("人事制度\n员工每年享有15天带薪年假。", encoding="utf-8")
        s = settings.with_overrides({"paths.kb_root": str(root / "kb")})
        qa = QASystem(root / "corpus", root / "index", s, encoder=HashEncoder())
        kbs = KnowledgeBases(s, first=qa, encoder=HashEncoder())
        client = TestClient(create_app(qa, ui=ui, access=access, kbs=kbs))
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture(scope="module")
def guarded(app_factory):
    return app_factory(access=AccessControl(entries()))


def test_without_a_token_only_health_answers(guarded):
    r = guarded.post("/api/ask", json={"question": "补贴多少?"})
    assert r.status_code == 401 and "token" in r.json()["error"] and r.headers["www-authenticate"].startswith("Bearer")
    assert guarded.get("/api/documents").status_code == 401
    assert guarded.get("/api/health").json() == {"status": "ok"}
    r = guarded.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/auth/login?next=/"
    assert guarded.post("/api/ask", json={"question": "x"}, headers=bearer("wrong-token-0000000")).status_code == 401
    # refusals carry the security headers too
    assert r.headers["x-frame-options"] == "DENY"


def test_scopes_and_knowledge_bases(guarded):
    ask = {"question": "补贴最高多少?"}
    r = guarded.post("/api/ask", json=ask, headers=bearer(READER))
    assert r.status_code == 200 and r.json()["citations"]
    files = {"files": ("new.txt", "新文件\n内容。".encode(), "text/plain")}
    r = guarded.post("/api/documents", files=files, headers=bearer(READER))
    assert r.status_code == 403 and "write" in r.json()["error"]
    assert guarded.delete("/api/documents/policy.txt", headers=bearer(READER)).status_code == 403
    assert guarded.get("/api/documents", headers=bearer(READER)).status_code == 200
    # a token for hr only: not the default knowledge base, by body or by ?kb=
    r = guarded.post("/api/ask", json=ask, headers=bearer(HR))
    assert r.status_code == 403 and "hr" in r.json()["error"] and "default" in r.json()["error"]
    assert guarded.get("/api/documents", headers=bearer(HR)).status_code == 403
    assert guarded.get("/api/documents?kb=hr", headers=bearer(HR)).status_code == 200
    r = guarded.post("/api/ask", json={"question": "年假多少天?", "kb": "hr"}, headers=bearer(HR))
    assert r.status_code == 200, r.text
    kbs = guarded.get("/api/kbs", headers=bearer(HR)).json()["knowledge_bases"]
    assert [k["name"] for k in kbs] == ["hr"]
    assert {k["name"] for k in guarded.get("/api/kbs", headers=bearer(ADMIN)).json()["knowledge_bases"]} >= {
        "default", "hr"}
    health = guarded.get("/api/health", headers=bearer(HR)).json()
    assert [k["name"] for k in health["knowledge_bases"]] == ["hr"]
    # a write-only token cannot ask
    assert guarded.post("/api/ask", json=ask, headers=bearer(WRITER)).status_code == 403


def test_login_sets_a_session_cookie_and_refuses_open_redirects(guarded):
    page = guarded.get("/auth/login?next=/")
    assert page.status_code == 200 and 'type="password"' in page.text
    assert "script" not in page.headers["content-security-policy"] or "'none'" in page.headers["content-security-policy"]
    bad = guarded.post("/auth/login", data={"token": "nope", "next": "/"}, follow_redirects=False)
    assert bad.status_code == 401 and "令牌无效" in bad.text
    ok = guarded.post("/auth/login", data={"token": READER, "next": "//evil.example/x"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and READER not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    guarded.cookies.set(COOKIE, value)
    assert guarded.post("/api/ask", json={"question": "补贴最高多少?"}).status_code == 200
    guarded.cookies.clear()
    assert guarded.post("/api/ask", json={"question": "补贴最高多少?"}).status_code == 401
    out = guarded.get("/auth/logout", follow_redirects=False)
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]


def test_rate_limit_answers_429_with_retry_after(app_factory):
    s = SETTINGS.with_overrides({"serve.rate_per_minute": 30, "serve.rate_burst": 3})
    client = app_factory(s, access=AccessControl(entries()))
    codes = [client.post("/api/ask", json={"question": "补贴最高多少?"}, headers=bearer(READER)).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.post("/api/ask", json={"question": "补贴最高多少?"}, headers=bearer(READER))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "too many" in r.json()["error"]
    # another token has its own bucket; reading a page is not costly
    assert client.post("/api/ask", json={"question": "补贴?"}, headers=bearer(ADMIN)).status_code == 200
    assert client.get("/api/documents", headers=bearer(READER)).status_code == 200
    # guessing tokens spends the address's bucket
    wrong = [client.post("/api/ask", json={}, headers=bearer(f"guess-{i:016d}")).status_code for i in range(5)]
    assert wrong[:3] == [401] * 3 and wrong[-1] == 429


def test_body_and_history_limits(app_factory):
    client = app_factory()
    big = {"question": "补贴?", "pad": "x" * (65 * 1024)}
    r = client.post("/api/ask", content=json.dumps(big), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "64 KB" in r.json()["error"]
    r = client.post("/api/ask", json={"question": "补贴?", "history": ["上海?"] * 21})
    assert r.status_code == 422 and "20" in r.json()["error"]
    r = client.post("/api/ask", json={"question": "补贴?", "history": ["长" * 1001]})
    assert r.status_code == 422
    assert client.post("/api/ask", json={"question": "补贴?", "history": ["上海?"] * 20}).status_code == 200


def test_a_body_that_streams_too_slowly_is_408_and_too_much_is_413():
    from ui.gate import Gate
    from ui.limits import RateLimiter

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = Gate(app, AccessControl(), "default", RateLimiter(0, 1), max_body=10, max_upload=10, body_timeout=0.2)

    async def run(parts, delay):
        sent = []

        async def receive():
            if parts:
                await anyio.sleep(delay)
                body = parts.pop(0)
                return {"type": "http.request", "body": body, "more_body": bool(parts)}
            await anyio.sleep(3600)

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/api/ask", "headers": [], "client": ("10.0.0.1", 1)}
        await gate(scope, receive, send)
        return sent[0]["status"], sent[-1].get("body", b"")

    assert anyio.run(run, [b"abc", b"def"], 0.0)[0] == 200
    status, body = anyio.run(run, [b"abc", b"def"], 0.5)
    assert status == 408 and "too long" in json.loads(body)["error"]
    assert anyio.run(run, [b"0123456", b"789abc"], 0.0)[0] == 413


def test_a_slow_client_is_cut_off_after_the_header_deadline():
    from fastapi import FastAPI

    from ui.net import BackgroundServer

    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    with BackgroundServer(app, header_timeout=0.5) as srv:
        host, port = srv.sock.getsockname()[:2]
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            s.sendall(b"X-A: 1\r\n")
            time.sleep(0.3)
            s.sendall(b"X-B: 1\r\n")          # trickling bytes does not reset the deadline
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            assert data.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < 3
        # a normal client, and a kept-alive one that takes its time between requests, are served
        def response(s: socket.socket) -> bytes:
            data = b""
            while b"pong" not in data and (chunk := s.recv(4096)):
                data += chunk
            return data

        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"pong" in response(s)
            time.sleep(0.3)
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.3)                   # 0.6 s since the last response, but headers took 0.3 s
            s.sendall(b"\r\n")
            assert b"pong" in response(s)


def test_chat_events_check_the_senders_token():
    from types import SimpleNamespace

    from ui.app import EventGuard

    access = AccessControl(entries())
    guard = EventGuard(access, "default")

    def upload(paths, kb=None):
        return ("done", kb)

    def ask(question, kb=None):
        yield ("answer", question, kb)

    up = guard.wrap(upload, Scope.WRITE, kb_at=1, denied=lambda m: ("refused", m))
    req = lambda token: SimpleNamespace(headers={"authorization": f"Bearer {token}"}, cookies={})  # noqa: E731
    assert up(["a.txt"], "hr", req(HR)) == ("done", "hr")
    assert up(["a.txt"], None, req(HR))[0] == "refused"            # default knowledge base: not hr's
    assert "write" in up(["a.txt"], "hr", req(READER))[1]
    assert up(["a.txt"], None, SimpleNamespace(headers={}, cookies={}))[1].startswith("需要重新登录")
    cookie = access.session_cookie(access.check_token(ADMIN))
    assert up(["a.txt"], None, SimpleNamespace(headers={}, cookies={COOKIE: cookie})) == ("done", None)
    streamed = guard.wrap(ask, Scope.READ, kb_at=1)
    assert list(streamed("q", "hr", req(HR))) == [("answer", "q", "hr")]
    import gradio as gr

    with pytest.raises(gr.Error):
        list(streamed("q", None, req(HR)))
    import inspect

    params = inspect.signature(up).parameters
    assert list(params) == ["paths", "kb", "request"] and params["request"].annotation is gr.Request
