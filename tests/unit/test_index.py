"""BM25, FAISS store, manifest and incremental rebuild, with a small fake encoder."""

import json
import logging
import os

import numpy as np
import pytest

from tests.fakes import ConceptEncoder, HashEncoder
from rag.index.bm25 import BM25
from rag.config import Settings
from rag.errors import StoreError
from rag.ingest.documents import load_corpus
from rag.index.build import build_index
from rag.retrieve.retriever import Retriever, rrf_fuse
from rag.index.store import IndexStore
from rag.query.analyse import QueryAnalyser
from rag.query.types import Query

SETTINGS = Settings().with_overrides({"embed.model": "fake-hash"})


def Q(text: str) -> Query:
    """A question analysed as the pipeline would (no follow-up)."""
    return QueryAnalyser(SETTINGS).analyse(text)


def write(corpus, name, text):
    path = corpus / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture()
def corpus(tmp_path):
    c = tmp_path / "corpus"
    write(c, "shanghai.txt", "上海政策\n上海印发的《措施》提出给予最高10%的租用补贴。上海支持智能芯片企业。")
    write(c, "guangdong.txt", "广东政策\n广东打造粤港澳大湾区数据特区。广东建设人工智能反诈平台。")
    write(c, "sub/hubei.md", "# 湖北\n湖北人工智能产业规模超过1500亿元。")
    return c


def build(corpus, index_dir, enc, settings=SETTINGS):
    return build_index(load_corpus(corpus), settings, enc, IndexStore(index_dir))


def test_bm25_ranks_and_round_trips(tmp_path):
    docs = [["上海", "算力", "补贴"], ["广东", "数据"], ["上海", "芯片"], ["芯片", "芯片", "测评"]]
    bm = BM25.build(docs)
    ids, scores = bm.top(["芯片", "上海"], k=3)
    assert list(ids[:1]) == [2] and all(np.diff(scores) <= 0)
    assert 1 not in ids  # no shared term, no result
    bm.save(tmp_path / "b.npz")
    again = BM25.load(tmp_path / "b.npz")
    assert np.allclose(again.scores(["芯片"]), bm.scores(["芯片"]))


def test_rrf_prefers_items_ranked_well_by_both():
    assert rrf_fuse([[5, 1], [1, 7]], [1, 1])[0] == 1


def test_build_writes_manifest_and_offsets_round_trip(corpus, tmp_path):
    enc = HashEncoder()
    index, report = build(corpus, tmp_path / "index", enc)
    assert report.written and report.embedded_chunks == len(index.chunks) >= 3
    m = json.loads((IndexStore(tmp_path / "index").current_path() / "manifest.json").read_text())
    assert m["model"] == "fake-hash" and m["dim"] == enc.dim and m["format_version"] >= 1
    assert set(m["documents"]) == {"shanghai.txt", "guangdong.txt", "sub/hubei.md"}
    assert m["params"]["chunk_chars"] == SETTINGS.chunk.chars
    texts = {d.doc: d.text for d in load_corpus(corpus)}
    for c in index.chunks:
        assert texts[c.doc][c.start:c.end] == c.text
    assert len(index.dense) == len(index.chunks) == len(index.vectors)


def test_incremental_rebuild_add_change_delete(corpus, tmp_path):
    enc = HashEncoder()
    idx_dir = tmp_path / "index"
    index, _ = build(corpus, idx_dir, enc)
    n0 = len(index.chunks)
    enc.calls.clear()

    # Nothing changed: nothing embedded, nothing written.
    _, report = build(corpus, idx_dir, enc)
    assert not report.written and enc.calls == []

    # Add one document: only its chunks are embedded.
    write(corpus, "fujian.txt", "福建成立省人工智能专家委员会。")
    index, report = build(corpus, idx_dir, enc)
    assert report.plan.added == ["fujian.txt"] and report.embedded_chunks == 1 and enc.calls == [1]
    assert len(index.chunks) == n0 + 1

    # Change one: only it is re-embedded, and the old text is gone.
    write(corpus, "shanghai.txt", "上海政策\n上海建设国家级大模型测试验证与协同创新中心。")
    enc.calls.clear()
    index, report = build(corpus, idx_dir, enc)
    assert report.plan.changed == ["shanghai.txt"] and enc.calls == [1]
    assert not any("10%" in c.text for c in index.chunks)

    # Delete one: its chunks leave the index; nothing is embedded.
    (corpus / "guangdong.txt").unlink()
    enc.calls.clear()
    index, report = build(corpus, idx_dir, enc)
    assert report.plan.removed == ["guangdong.txt"] and enc.calls == []
    assert {c.doc for c in index.chunks} == {"shanghai.txt", "sub/hubei.md", "fujian.txt"}

    # The stored vectors of unchanged documents equal a fresh embedding.
    fresh, _ = build(corpus, tmp_path / "fresh", HashEncoder())
    assert np.allclose(sorted(map(tuple, index.vectors)), sorted(map(tuple, fresh.vectors)))
    # Search over the reloaded index still finds the right document.
    loaded = IndexStore(idx_dir).load()
    hits = Retriever(loaded, enc, SETTINGS).search(Q("湖北产业规模"), top_k=1)
    assert hits[0].chunk.doc == "sub/hubei.md"


@pytest.mark.parametrize("change", [{"chunk.chars": 100}, {"embed.model": "other-model"}, {"chunk.overlap_sentences": 0}])
def test_manifest_mismatch_forces_a_full_rebuild(corpus, tmp_path, change):
    enc = HashEncoder()
    build(corpus, tmp_path / "index", enc)
    enc.calls.clear()
    index, report = build(corpus, tmp_path / "index", enc, SETTINGS.with_overrides(change))
    assert report.written and report.plan.rebuild_reason
    assert sum(enc.calls) == len(index.chunks)
    stored = IndexStore(tmp_path / "index").read_manifest()
    assert stored.params == SETTINGS.with_overrides(change).index_params()


def test_dimension_change_forces_rebuild(corpus, tmp_path):
    build(corpus, tmp_path / "index", HashEncoder(dim=64))
    index, report = build(corpus, tmp_path / "index", HashEncoder(dim=32))
    assert report.written and index.vectors.shape[1] == 32


def test_crash_mid_build_leaves_previous_index_usable(corpus, tmp_path, monkeypatch):
    enc = HashEncoder()
    idx_dir = tmp_path / "index"
    before, _ = build(corpus, idx_dir, enc)
    write(corpus, "new.txt", "新增文件内容。")

    import rag.index.faiss_store as store_mod

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(store_mod, "save", boom)
    with pytest.raises(StoreError, match="cannot write the index in .*: disk full; the previous index is unchanged"):
        build(corpus, idx_dir, enc)
    monkeypatch.undo()
    assert [p for p in os.listdir(idx_dir) if p.startswith(".tmp")] == []     # removed at once, not next time
    loaded = IndexStore(idx_dir).load()
    assert loaded is not None and [c.chunk_id for c in loaded.chunks] == [c.chunk_id for c in before.chunks]
    # The next build cleans up the half-written folder and succeeds.
    index, report = build(corpus, idx_dir, enc)
    assert report.written and any(c.doc == "new.txt" for c in index.chunks)
    leftovers = [p for p in os.listdir(idx_dir) if p.startswith(".tmp")]
    assert leftovers == []


def test_corrupt_index_is_rebuilt_not_used(corpus, tmp_path):
    enc = HashEncoder()
    build(corpus, tmp_path / "index", enc)
    live = IndexStore(tmp_path / "index").current_path()
    (live / "bm25.npz").write_bytes(b"garbage")
    assert IndexStore(tmp_path / "index").load() is None
    index, report = build(corpus, tmp_path / "index", enc)
    assert report.written and len(index.chunks) > 0


def test_a_damaged_version_is_reported_once_per_store(corpus, tmp_path, caplog):
    build(corpus, tmp_path / "index", HashEncoder())
    store = IndexStore(tmp_path / "index")
    (store.current_path() / "bm25.npz").write_bytes(b"garbage")
    with caplog.at_level(logging.DEBUG, logger="rag.index.store"):
        assert store.load() is None and store.load() is None    # the pipeline, then the rebuild
    said = [r.levelno for r in caplog.records if "unreadable" in r.getMessage()]
    assert said == [logging.WARNING, logging.DEBUG]


def test_hybrid_finds_keyword_only_and_dense_only_matches(corpus, tmp_path):
    """A word only BM25 knows (粤港澳: the fake dense model has no direction for it) and a synonym only
    the dense side matches (半导体 for 芯片: no document holds the word): hybrid ranks each first."""
    enc = ConceptEncoder()
    index, _ = build(corpus, tmp_path / "index", enc, Settings().with_overrides({"embed.model": enc.name}))
    r = Retriever(index, enc, SETTINGS)
    # keyword only: the dense side scores every chunk 0
    assert r.search(Q("粤港澳"), mode="bm25")[0].chunk.doc == "guangdong.txt"
    assert {p.dense_score for p in r.search(Q("粤港澳"), mode="dense")} == {0.0}
    assert r.search(Q("粤港澳"), top_k=3)[0].chunk.doc == "guangdong.txt"
    # dense only: BM25 finds nothing for a word no chunk holds
    assert r.search(Q("半导体"), mode="bm25") == []
    assert r.search(Q("半导体"), mode="dense")[0].chunk.doc == "shanghai.txt"
    hybrid = r.search(Q("半导体"), top_k=3)
    assert hybrid[0].chunk.doc == "shanghai.txt" and hybrid[0].bm25_score in (None, 0.0)
    assert [p.rank for p in hybrid] == list(range(1, len(hybrid) + 1))
