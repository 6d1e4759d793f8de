"""The index in Milvus (embedded milvus-lite): the same rankings and answers as FAISS, exact offsets,
generations switched by an alias, bad stores refused with one line. Needs the ``milvus`` extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from rag.config import Settings  # noqa: E402
from rag.errors import SettingsError, StoreError  # noqa: E402
from rag.index.milvus_store import MilvusStore  # noqa: E402
from rag.pipeline import QASystem  # noqa: E402
from tests.helpers import TESTS, article_corpus  # noqa: E402


def _questions(name: str = "article_qa.jsonl") -> list[str]:
    rows = [json.loads(x) for x in (TESTS / "data" / name).read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r["question"] for r in rows]


@pytest.fixture(scope="module")
def milvus_qa(tmp_path_factory, embedder):
    """The article indexed into an embedded Milvus file, with the real model."""
    base = tmp_path_factory.mktemp("milvus")
    corpus = article_corpus(base)
    settings = Settings.from_env().with_overrides({"store.uri": f"milvus:{base / 'milvus.db'}"})
    qa = QASystem(corpus, base / "unused-index", settings, encoder=embedder)
    qa.build()
    yield qa
    qa.store.close()


def _reloaded(qa: QASystem, embedder) -> QASystem:
    """A second system on the same store: what another process (a second server) loads."""
    other = QASystem(qa.corpus_dir, qa.corpus_dir.parent / "unused-index", qa.settings, encoder=embedder)
    other.store = qa.store   # milvus-lite lets one process hold a file; a server is shared the same way
    return other


def test_milvus_ranks_and_answers_like_faiss(milvus_qa, article_qa, embedder, article_text):
    loaded = _reloaded(milvus_qa, embedder)
    loaded.ensure_index()
    assert not (milvus_qa.corpus_dir.parent / "unused-index").exists()   # nothing went to FAISS files
    from rag.index.milvus_store import MilvusVectorStore

    assert isinstance(loaded.index.dense, MilvusVectorStore)   # dense search really runs in Milvus
    questions = _questions() + _questions("article_qa_holdout.jsonl")
    for q in questions:
        want, got = article_qa.search(q), loaded.search(q)
        assert [p.chunk for p in got] == [p.chunk for p in want], q
        assert [p.score for p in got] == pytest.approx([p.score for p in want], abs=1e-4), q
        a, b = article_qa.ask(q), loaded.ask(q)
        assert (b.answer, b.answer_span) == (a.answer, a.answer_span), q
        if b.answer_span is not None:
            assert article_text[b.answer_span.start:b.answer_span.end] == b.answer
        for c in b.citations:
            assert loaded.document_text(c.doc)[c.start:c.end] == c.text


def test_a_rebuild_moves_the_alias_and_keeps_one_old_generation(milvus_qa, embedder):
    store: MilvusStore = milvus_qa.store
    first = store.live_collection()
    milvus_qa.build(force=True)
    second = store.live_collection()
    assert second != first and store.generations() == [first, second]
    milvus_qa.build(force=True)
    third = store.live_collection()
    assert store.generations() == [second, third]        # the one before the replaced one is dropped
    assert _reloaded(milvus_qa, embedder).store.load().manifest.documents.keys() == {"article.txt"}


def test_a_half_written_generation_never_goes_live(milvus_qa, embedder, monkeypatch):
    store: MilvusStore = milvus_qa.store
    live = store.live_collection()
    question = _questions()[0]
    before = milvus_qa.ask(question)

    def dies(*_a, **_k):
        raise KeyboardInterrupt   # as a kill in the middle of writing the files would
    monkeypatch.setattr(store, "_write_files", dies)
    with pytest.raises(KeyboardInterrupt):
        milvus_qa.build(force=True)
    monkeypatch.undo()
    assert store.live_collection() == live
    again = _reloaded(milvus_qa, embedder)
    after = again.ask(question)
    assert before.found and (after.answer, after.answer_span) == (before.answer, before.answer_span)
    milvus_qa.build(force=True)                           # the next build drops what was left
    assert len(store.generations()) == 2


def test_an_index_built_with_other_chunking_is_refused_not_overwritten(milvus_qa, embedder):
    live = milvus_qa.store.live_collection()
    changed = milvus_qa.settings.with_overrides({"chunk.chars": milvus_qa.settings.chunk.chars + 50})
    other = QASystem(milvus_qa.corpus_dir, milvus_qa.corpus_dir.parent / "unused-index", changed, encoder=embedder)
    other.store = milvus_qa.store
    with pytest.raises(StoreError, match="chunk_chars changed"):
        other.ask(_questions()[0])
    assert milvus_qa.store.live_collection() == live


def test_a_question_on_an_empty_store_says_how_to_build_it(tmp_path, embedder):
    settings = Settings.from_env().with_overrides({"store.uri": f"milvus:{tmp_path / 'empty.db'}"})
    qa = QASystem(tmp_path, tmp_path / "unused-index", settings, encoder=embedder)
    with pytest.raises(StoreError, match="rag index --store milvus:"):
        qa.ask("上海发布了什么?")
    qa.store.close()


def test_an_unreachable_server_is_one_line_naming_it(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "search", "--corpus", str(tmp_path),
                           "--store", "milvus://127.0.0.1:9", "上海"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "milvus://127.0.0.1:9" in lines[0] and "Traceback" not in proc.stderr


def test_a_store_of_no_known_form_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "search", "--corpus", str(tmp_path),
                           "--store", "redis://x", "上海"], capture_output=True, text=True, timeout=120,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "faiss, milvus:<file>, milvus://host[:port]" in proc.stderr


def test_a_bad_knowledge_base_name_is_refused():
    with pytest.raises(SettingsError, match="knowledge base 'a b'"):
        MilvusStore("x.db", kb="a b")


def test_an_added_document_alone_is_embedded_and_kept_rows_come_from_milvus(milvus_qa, embedder):
    note = milvus_qa.corpus_dir / "note.txt"
    note.write_text("临港新片区发布算力补贴细则。单个项目的补贴最高为八百万元。", encoding="utf-8")
    try:
        before = milvus_qa.store.load()
        report = milvus_qa.build()
        assert report.plan.added == ["note.txt"] and report.plan.unchanged == ["article.txt"]
        assert report.embedded_chunks == report.chunks - len(before.chunks)
        loaded = _reloaded(milvus_qa, embedder)
        kept = loaded.index.chunks_of("article.txt")
        assert [loaded.index.chunks[i] for i in kept] == before.chunks
        assert loaded.index.dense.vectors(kept) == pytest.approx(before.dense.vectors(), abs=1e-6)
        ans = loaded.ask("临港新片区单个项目的补贴最高为多少?")
        assert ans.answer_span is not None and ans.answer_span.doc == "note.txt"
        assert note.read_text(encoding="utf-8")[ans.answer_span.start:ans.answer_span.end] == ans.answer
    finally:
        note.unlink()
        milvus_qa.build()


def test_a_server_picks_up_a_new_generation_without_a_restart(milvus_qa, embedder):
    server = _reloaded(milvus_qa, embedder)
    server.settings = server.settings.with_overrides({"store.refresh_seconds": 0})
    question = _questions()[0]
    first = server.ask(question)
    before = server.generation
    milvus_qa.build(force=True)                     # "rag index" elsewhere
    again = server.ask(question)
    assert server.generation == milvus_qa.store.live_collection() != before
    assert (again.answer, again.answer_span) == (first.answer, first.answer_span)


def test_index_then_ask_in_separate_processes_as_the_readme_says(tmp_path):
    """`rag index --store milvus:…` then `rag ask --store milvus:…`: the second process finds the
    collections released and must load them; no pymilvus traceback reaches the user."""
    corpus = article_corpus(tmp_path)
    store = f"milvus:{tmp_path / 'milvus.db'}"
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    run = [sys.executable, "-m", "rag.cli"]
    built = subprocess.run(run + ["index", "--corpus", str(corpus), "--store", store],
                           capture_output=True, text=True, timeout=600, env=env)
    assert built.returncode == 0 and "Traceback" not in built.stderr, built.stderr
    asked = subprocess.run(run + ["ask", "--corpus", str(corpus), "--store", store, "--json",
                                  "湖北到2025年人工智能产业规模超过多少?"],
                           capture_output=True, text=True, timeout=600, env=env)
    assert asked.returncode == 0 and "Traceback" not in asked.stderr, asked.stderr
    body = json.loads(asked.stdout)
    text = (corpus / "article.txt").read_text(encoding="utf-8")
    assert "1500亿元" in body["answer"]
    assert text[body["answer_span"]["start"]:body["answer_span"]["end"]] == body["answer"]


def test_knowledge_bases_share_one_milvus_store_apart(tmp_path):
    """Two knowledge bases in one Milvus: an alias each, listed by ``rag kbs``, and a question in one
    never cites the other's chunks (the same file name in both holds different facts)."""
    store = f"milvus:{tmp_path / 'milvus.db'}"
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    corpora = {}
    for kb, where in (("default", "杭州西湖国宾馆"), ("hr", "成都天府会议中心")):
        corpora[kb] = tmp_path / kb
        corpora[kb].mkdir()
        (corpora[kb] / "notes.txt").write_text(f"公司年会定于下月在{where}举行。\n", encoding="utf-8")

    def rag(kb: str, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "rag.cli", *argv, "--kb", kb, "--corpus", str(corpora[kb]),
                               "--store", store], capture_output=True, text=True, timeout=600, env=env)

    for kb in corpora:
        built = rag(kb, "index")
        assert built.returncode == 0, built.stderr
    listed = rag("default", "kbs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["name"] for r in json.loads(listed.stdout)] == ["default", "hr"]
    for kb, want, never in (("hr", "成都", "杭州"), ("default", "杭州", "成都")):
        asked = rag(kb, "ask", "--json", "公司年会在哪里举行?")
        assert asked.returncode == 0, asked.stderr
        body = json.loads(asked.stdout)
        assert want in body["answer"] and never not in asked.stdout
        text = (corpora[kb] / "notes.txt").read_text(encoding="utf-8")
        assert text[body["answer_span"]["start"]:body["answer_span"]["end"]] == body["answer"]


def test_sharded_builds_need_a_shared_store_and_both_flags(tmp_path, capsys):
    from rag.cli.commands import main

    corpus = article_corpus(tmp_path)
    for argv, says in ((["--generation", "g", "--shard", "1/2"], "needs a shared store"),
                       (["--shard", "1/2"], "both --generation G and --shard I/N"),
                       (["--publish", "g", "--shard", "1/2"], "give it alone"),
                       (["--publish", "g"], "--publish needs a shared store")):
        rc = main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "index"), *argv])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and says in err and err.count("\n") == 0, (argv, err)
    assert not (tmp_path / "index").exists()


def test_rows_are_read_by_key_in_batches_and_a_missing_row_is_refused(milvus_qa, article_text, monkeypatch):
    # Last in the file: it damages the live generation, and rebuilds it at the end.
    from rag.index import milvus_store

    store: MilvusStore = milvus_qa.store
    whole = store.load()
    monkeypatch.setattr(milvus_store, "BATCH", 5)          # the article's 20-odd chunks take several reads
    batched = store.load()
    assert len(batched.chunks) > 3 * 5 and batched.chunks == whole.chunks and batched.tokens == whole.tokens
    assert all(article_text[c.start:c.end] == c.text for c in batched.chunks)
    assert batched.documents["article.txt"].text == article_text
    live = store.live_collection()
    store.client().delete(live, ids=[7])                   # a gap: the keys after it would read as the end
    assert store.load() is None                            # refused (logged), so the next build repairs it
    milvus_qa.build()
    repaired = store.load()
    assert repaired is not None and repaired.chunks == whole.chunks
