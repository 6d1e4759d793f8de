"""A real ``rag serve`` process with tokens (issue #21): a team address without a token is refused
in one line; tokens made by ``rag token add`` let in whom they should; the limits answer 4xx, never
5xx, on the real uvicorn socket (a slow client, an oversized body, a burst of questions).

The same checks in-process with a fake encoder: ``tests/unit/test_access.py``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, article_corpus, stop

URL_RE = re.compile(r"(http://127\.0\.0\.1:(\d+)/)")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
ENV.pop("RAG_AUTH_TOKEN", None)
ENV.pop("RAG_AUTH_FILE", None)


def _rag(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *argv], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("extra,words", [
    ((), "refusing to serve on 0.0.0.0 without a token"),
    (("--auth-token", "short"), "at least 16 characters"),
    (("--auth-file", "/nonexistent/tokens.json"), "does not exist"),
])
def test_a_team_address_without_a_good_token_is_refused_in_one_line(tmp_path, extra, words):
    r = _rag("serve", "--host", "0.0.0.0", "--port", "0", "--corpus", str(tmp_path), *extra)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("guarded")
    corpus = article_corpus(base)
    tokens = base / "tokens.json"
    made = {}
    for name, scopes in (("reader", ["--scope", "read"]), ("editor", ["--scope", "read", "--scope", "write"])):
        r = _rag("token", "add", name, "--file", str(tokens), *scopes)
        assert r.returncode == 0, r.stderr
        made[name] = r.stdout.strip()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", "0", "--corpus", str(corpus),
                             "--index", str(base / "index"), "--auth-file", str(tokens),
                             "--set", "serve.header_timeout_s=1", "--set", "serve.rate_per_minute=60",
                             "--set", "serve.rate_burst=8"],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = URL_RE.search(line)
    if not match:
        proc.kill()
        pytest.fail(f"rag serve did not start (exit {proc.poll()}): {line!r} {proc.stderr.read()[-2000:]}")
    yield match.group(1), int(match.group(2)), made, corpus
    stop(proc)
    err = proc.stderr.read()
    assert "Traceback" not in err, err[-3000:]


def test_tokens_let_in_whom_they_should(served):
    url, _, tokens, corpus = served
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.post("api/ask", json={"question": "谁是百度首席技术官?"})
        assert r.status_code == 401
        r = c.post("api/ask", json={"question": "谁是百度首席技术官?"},
                   headers={"Authorization": f"Bearer {tokens['reader']}"})
        assert r.status_code == 200
        body = r.json()
        assert body["answer"] == "王海峰"
        text = (Path(corpus) / "article.txt").read_text(encoding="utf-8")
        start, end = body["answer_span"]["start"], body["answer_span"]["end"]
        assert text[start:end] == body["answer"]
        r = c.delete("api/documents/article.txt", headers={"Authorization": f"Bearer {tokens['reader']}"})
        assert r.status_code == 403
        r = c.get("api/documents", headers={"Authorization": f"Bearer {tokens['editor']}"})
        assert r.status_code == 200 and r.json()["documents"][0]["doc"] == "article.txt"


def test_limits_answer_4xx_on_the_real_socket(served):
    url, port, tokens, _ = served
    # a client that never finishes its headers is answered 408 and cut off
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        assert data.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < 5
    auth = {"Authorization": f"Bearer {tokens['editor']}"}
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.post("api/ask", content=b'{"question": "' + b"x" * 70_000 + b'"}', headers=auth)
        assert r.status_code == 413
        codes = [c.post("api/ask", json={"question": ""}, headers=auth).status_code for _ in range(12)]
        assert set(codes) <= {400, 429} and 429 in codes
        r = c.post("api/ask", json={"question": "谁?"}, headers=auth)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert c.get("api/health").json() == {"status": "ok"}


def test_the_soak_script_holds_a_small_load(tmp_path):
    """``scripts/soak.py`` itself (the full run is ``bash scripts/soak.sh``, docs/security.md)."""
    out = tmp_path / "soak.json"
    r = subprocess.run([sys.executable, "scripts/soak.py", "--clients", "4", "--questions", "3", "--rounds", "1",
                        "--json", str(out)], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    result = __import__("json").loads(out.read_text(encoding="utf-8"))
    assert result["questions"] == 12 and result["errors"] == 0 and result["server_5xx"] == 0
    assert result["cited_after_delete"] == [] and result["tracebacks"] == 0 and result["lost_documents"] == []
    assert result["statuses"]["delete 200"] == 1 and result["p95_ms"] > 0
