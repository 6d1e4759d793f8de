"""Serving apart from indexing, against a real ``milvus-lite server`` process on loopback: two
``rag serve`` processes answer while a ``rag index`` process rebuilds; every question succeeds, both
servers move to the new generation without a restart, and no answer mixes two generations. Then a
``rag index`` killed (SIGKILL) in the middle of writing leaves the alias, and the answers, as they were.

Every process is real; nothing is shared but the Milvus server. Needs the ``milvus`` extra.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from tests.helpers import ARTICLE, ROOT  # noqa: E402

QUESTION = "系统版本的代号是什么?"
#: Each generation's notes name one code; an answer or citation naming the other would be a mix.
CODES = {"old": "青松", "new": "白桦"}
URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+/)")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def _notes(code: str) -> str:
    return f"发布说明\n本次发布的系统版本代号是{code}。该版本于今年上线，面向全体用户开放。\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """``milvus-lite server`` on 127.0.0.1 in its own process; yields ``milvus://127.0.0.1:PORT``."""
    data = tmp_path_factory.mktemp("milvus-data")
    port = _free_port()
    exe = Path(sys.executable).with_name("milvus-lite")
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, "milvus-lite server exited"
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("milvus-lite server did not listen within 60 s")
    yield f"milvus://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("served")
    (base / "corpus").mkdir()
    (base / "corpus" / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    (base / "corpus" / "notes.txt").write_text(_notes(CODES["old"]), encoding="utf-8")
    return base / "corpus"


def _rag(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *argv], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def _serve(store: str, corpus: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", "0", "--store", store,
                             "--corpus", str(corpus), "--set", "store.refresh_seconds=0.5"],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()               # "serving at <url>", printed once loaded
    match = URL_RE.search(line)
    if not match:
        proc.kill()
        pytest.fail(f"rag serve did not start (exit {proc.poll()}): {line!r}")
    return proc, match.group(1)


def _code_of(body: dict) -> set[str]:
    """The generation codes an answer shows, in its answer or any citation."""
    text = json.dumps(body, ensure_ascii=False)
    return {name for name, code in CODES.items() if code in text}


def _alias_target(store: str) -> str:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=store.replace("milvus://", "http://"))
    try:
        return client.describe_alias("rag_default")["collection_name"]
    finally:
        client.close()


def test_two_servers_keep_answering_through_a_rebuild_and_both_switch(milvus_server, corpus):
    built = _rag("index", "--store", milvus_server, "--corpus", str(corpus))
    assert built.returncode == 0, built.stderr
    servers = [_serve(milvus_server, corpus) for _ in range(2)]
    try:
        urls = [url for _, url in servers]
        first = {httpx.get(u + "api/health", timeout=10).json()["generation"] for u in urls}
        assert len(first) == 1 and first != {None}
        for u in urls:
            body = httpx.post(u + "api/ask", json={"question": QUESTION}, timeout=60).json()
            assert CODES["old"] in body["answer"] and _code_of(body) == {"old"}

        results: list[tuple[int, set[str]]] = []
        failures: list[str] = []
        stop = threading.Event()

        def hammer(url: str) -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    try:
                        r = client.post(url + "api/ask", json={"question": QUESTION})
                        results.append((r.status_code, _code_of(r.json())))
                    except httpx.HTTPError as exc:
                        failures.append(f"{url}: {exc!r}")

        threads = [threading.Thread(target=hammer, args=(u,)) for u in urls]
        for t in threads:
            t.start()
        (corpus / "notes.txt").write_text(_notes(CODES["new"]), encoding="utf-8")
        rebuilt = _rag("index", "--store", milvus_server, "--corpus", str(corpus))   # another process
        deadline = time.monotonic() + 30
        generations: set[str] = set()
        while time.monotonic() < deadline:
            generations = {httpx.get(u + "api/health", timeout=10).json()["generation"] for u in urls}
            if generations.isdisjoint(first) and len(generations) == 1:
                break
            time.sleep(0.2)
        time.sleep(1.0)                 # a few questions on the new generation too
        stop.set()
        for t in threads:
            t.join(60)

        assert rebuilt.returncode == 0, rebuilt.stderr
        assert generations.isdisjoint(first) and len(generations) == 1, (first, generations)
        assert generations == {_alias_target(milvus_server)}       # both serve what the alias names
        assert not failures and results and all(status == 200 for status, _ in results), failures
        assert all(len(codes) == 1 for _, codes in results), [c for _, c in results if len(c) != 1]
        assert results[-1][1] == {"new"}
        for u in urls:
            body = httpx.post(u + "api/ask", json={"question": QUESTION}, timeout=60).json()
            assert CODES["new"] in body["answer"] and _code_of(body) == {"new"}
    finally:
        for proc, _ in servers:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_an_index_killed_mid_write_leaves_the_alias_and_the_answers(milvus_server, corpus):
    from pymilvus import MilvusClient

    built = _rag("index", "--store", milvus_server, "--corpus", str(corpus))
    assert built.returncode == 0, built.stderr
    before_alias = _alias_target(milvus_server)
    before = json.loads(_rag("ask", "--store", milvus_server, "--corpus", str(corpus), "--json", QUESTION).stdout)

    client = MilvusClient(uri=milvus_server.replace("milvus://", "http://"))
    try:
        known = set(client.list_collections())
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "index", "--force", "--store", milvus_server,
                                 "--corpus", str(corpus)], cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if set(client.list_collections()) - known:       # the new generation is being written
                break
            time.sleep(0.01)
        assert proc.poll() is None, "rag index ended before it could be killed mid-write"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        half = set(client.list_collections()) - known
    finally:
        client.close()

    assert half, "no half-written generation: the kill came too early"
    assert _alias_target(milvus_server) == before_alias
    after = json.loads(_rag("ask", "--store", milvus_server, "--corpus", str(corpus), "--json", QUESTION).stdout)
    assert (after["answer"], after["answer_span"], after["citations"]) == \
        (before["answer"], before["answer_span"], before["citations"])
    again = _rag("index", "--force", "--store", milvus_server, "--corpus", str(corpus))
    assert again.returncode == 0, again.stderr
    client = MilvusClient(uri=milvus_server.replace("milvus://", "http://"))
    try:
        left = set(client.list_collections())
    finally:
        client.close()
    assert not half & left         # the next build dropped the half-written generation
