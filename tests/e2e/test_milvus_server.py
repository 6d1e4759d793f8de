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
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from tests.helpers import ARTICLE, ROOT, start_milvus_server, stop  # noqa: E402

QUESTION = "系统版本的代号是什么?"
#: Each generation's notes name one code; an answer or citation naming the other would be a mix.
CODES = {"old": "青松", "new": "白桦"}
URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+/)")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def _notes(code: str) -> str:
    return f"发布说明\n本次发布的系统版本代号是{code}。该版本于今年上线，面向全体用户开放。\n"


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """``milvus-lite server`` on 127.0.0.1 in its own process (this module's own data); yields its URI."""
    proc, uri = start_milvus_server(tmp_path_factory.mktemp("milvus-data"))
    yield uri
    stop(proc)


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

    # The write of a generation takes a fraction of a second: an attempt whose kill lands before the
    # write began or after the alias moved proves nothing and is made again.
    half: set[str] = set()
    client = MilvusClient(uri=milvus_server.replace("milvus://", "http://"))
    try:
        for _ in range(5):
            known = set(client.list_collections())
            live = client.describe_alias("rag_default")["collection_name"]
            proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "index", "--force", "--store", milvus_server,
                                     "--corpus", str(corpus)], cwd=ROOT, env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                if set(client.list_collections()) - known:       # the new generation is being written
                    break
                time.sleep(0.05)
            if proc.poll() is not None:
                continue                                          # finished before it was seen
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            if client.describe_alias("rag_default")["collection_name"] == live:
                half = set(client.list_collections()) - known
                before_alias = live
                break
    finally:
        client.close()

    assert half, "no attempt was killed while writing"
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


SHARD_DOCS = {
    "notes/travel.txt": "差旅制度\n员工出差结束后须在30日内提交报销单据，逾期不予报销。\n",
    "notes/leave.txt": "休假制度\n员工入职满一年后，每年享有带薪年假15天。\n",
    "notes/canteen.txt": "食堂公告\n职工食堂午餐供应时间为11点30分至13点。\n",
    "notes/parking.txt": "停车管理\n地下停车场共有车位320个，访客车位位于B1层东侧。\n",
    "notes/security.txt": "信息安全\n办公电脑须每90天更换一次登录密码。\n",
    "notes/training.txt": "培训安排\n新员工入职培训为期5天，由人力资源部组织。\n",
}


def _index_of(store: str, kb: str, embedder):
    from rag.config import Settings
    from rag.pipeline import QASystem

    settings = Settings.from_env().with_overrides({"store.uri": store, "store.kb": kb})
    qa = QASystem("unused-corpus", "unused-index", settings, encoder=embedder)
    qa.ensure_index()
    return qa


def test_three_shards_published_equal_a_one_process_build(milvus_server, tmp_path, embedder):
    corpus = tmp_path / "corpus"
    (corpus / "notes").mkdir(parents=True)
    (corpus / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    for name, text in SHARD_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    from rag.index.milvus_store import shard_of

    assert {shard_of(d, 3) for d in [*SHARD_DOCS, "article.txt"]} == {1, 2, 3}     # every shard has work
    common = ["--store", milvus_server, "--corpus", str(corpus)]

    nothing = _rag("index", "--kb", "sharded", "--publish", "g1", *common)
    assert nothing.returncode == 2 and "no shard of generation 'g1'" in nothing.stderr
    assert nothing.stderr.strip().count("\n") == 0
    single = _rag("index", "--kb", "single", *common)
    assert single.returncode == 0, single.stderr
    shards = [subprocess.Popen([sys.executable, "-m", "rag.cli", "index", "--kb", "sharded", "--generation", "g1",
                                "--shard", f"{i}/3", *common], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for i in (1, 2, 3)]
    for proc in shards:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "rag index --publish g1" in out
    published = _rag("index", "--kb", "sharded", "--publish", "g1", *common)
    assert published.returncode == 0, published.stderr
    assert "3 shards, 7 documents" in published.stdout

    one, many = _index_of(milvus_server, "single", embedder), _index_of(milvus_server, "sharded", embedder)
    a, b = one.index, many.index
    assert [c.chunk_id for c in b.chunks] == [c.chunk_id for c in a.chunks]
    assert b.chunks == a.chunks and b.tokens == a.tokens
    assert b.manifest.documents.keys() == a.manifest.documents.keys()
    assert b.dense.vectors() == pytest.approx(a.dense.vectors(), abs=1e-5)
    questions = [json.loads(x)["question"] for x in (ROOT / "tests" / "data" / "article_qa.jsonl")
                 .read_text(encoding="utf-8").splitlines() if x.strip()][:30]
    questions += ["员工出差结束后须在多少日内提交报销单据?", "地下停车场共有多少个车位?", "新员工入职培训为期几天?"]
    for q in questions:
        x, y = one.ask(q), many.ask(q)
        assert (y.answer, y.answer_span) == (x.answer, x.answer_span), q
        assert [(c.doc, c.start, c.end) for c in y.citations] == [(c.doc, c.start, c.end) for c in x.citations], q
        for c in y.citations:
            assert many.document_text(c.doc)[c.start:c.end] == c.text

    half = _rag("index", "--kb", "sharded", "--generation", "g2", "--shard", "1/2", *common)
    assert half.returncode == 0, half.stderr
    refused = _rag("index", "--kb", "sharded", "--publish", "g2", *common)
    assert refused.returncode == 2 and "shard 2/2 has not finished" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    bad = _rag("index", "--kb", "sharded", "--generation", "g3", "--shard", "4/3", *common)
    assert bad.returncode == 2 and "--shard '4/3'" in bad.stderr

