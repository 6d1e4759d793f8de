"""The seams of the layout (issue #16): public API, choices, settings, protocols, one pass down."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from rag.choices import Fusion, ReaderMode, ReaderShape, RetrievalMode
from rag.config import Settings
from rag.errors import QuestionError, RagError, SettingsError
from rag.types import Document
from tests.fakes import HashEncoder
from tests.helpers import ROOT, query


def test_the_public_api_is_what_init_lists():
    import rag

    for name in rag.__all__:
        assert getattr(rag, name) is not None, name
    from rag import Answer, Citation, Passage, QASystem, Settings as S

    assert S is Settings and QASystem.__module__ == "rag.pipeline"
    assert {c.__module__ for c in (Answer, Citation, Passage)} == {"rag.types"}

    assert issubclass(QuestionError, RagError) and issubclass(SettingsError, RagError)


@pytest.mark.parametrize("choice, bad, valid", [
    (Fusion, "sum", "mix, rrf"), (RetrievalMode, "fuzzy", "hybrid, dense, bm25"),
    (ReaderShape, "most", "named, lists, all, off"), (ReaderMode, "always", "auto, ensemble, off"),
])
def test_a_choice_refuses_an_unknown_value_and_lists_the_valid_ones(choice, bad, valid):
    assert choice.from_str(choice.values()[0].upper()) == choice.values()[0]
    with pytest.raises(SettingsError, match=f"choose from {valid}"):
        choice.from_str(bad)


def test_settings_validate_their_choices_and_keys():
    with pytest.raises(SettingsError, match="choose from mix, rrf"):
        Settings().with_overrides({"retrieval.fusion": "sum"})
    with pytest.raises(SettingsError, match="choose from named, lists, all, off"):
        Settings().with_overrides({"reader.shape": "most"})
    with pytest.raises(SettingsError, match="auto, ensemble, off or give a path"):
        Settings().with_overrides({"reader.weights": "always"})
    with pytest.raises(SettingsError, match="valid: top_k"):
        Settings().with_overrides({"retrieval.topk": 3})
    with pytest.raises(SettingsError, match="takes a int"):
        Settings.from_pairs(["retrieval.top_k=three"])
    s = Settings.from_pairs(["retrieval.top_k=3", "index.fold_scripts=false", "reader.weights=/x/y.safetensors"])
    assert (s.retrieval.top_k, s.index.fold_scripts, s.reader.weights, s.reader.mode) == (3, False, "/x/y.safetensors", None)
    with pytest.raises(Exception):
        s.retrieval.top_k = 4   # frozen


def test_from_env_is_the_only_reader_of_the_environment():
    s = Settings.from_env({"RAG_MODEL": "m", "RAG_READER": "off", "RAG_CACHE_DIR": "/c", "RAG_BENCH_DATA": "/b",
                           "RAG_DEBUG": "1", "HF_HUB_OFFLINE": "1"})
    assert (s.embed.model, s.reader.mode, str(s.paths.cache_dir), str(s.paths.bench_data), s.debug,
            s.embed.offline) == ("m", ReaderMode.OFF, "/c", "/b", True, True)
    assert Settings.from_env({}) == Settings()
    readers = []
    for path in (ROOT / "rag").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(str(path.relative_to(ROOT)))
    assert sorted(set(readers)) == ["rag/config.py"]


def test_every_implementation_meets_its_protocol():
    from rag.answer.crosslingual import CrossLingualAnswerer
    from rag.answer.protocol import Answerer
    from rag.answer.rules import RuleAnswerer
    from rag.answer.step import AnswerStep, ScriptFolding
    from rag.embed.encoder import Embedder
    from rag.embed.protocol import Encoder
    from rag.index.faiss_store import FaissStore
    from rag.index.protocol import VectorStore
    from rag.reader.decoding import SpanScore
    from rag.reader.protocol import SpanReader

    # isinstance would read Embedder().dim, which loads the model: the class has every member instead
    assert all(hasattr(Embedder, m) for m in ("name", "dim", "encode_queries", "encode_passages"))
    assert isinstance(HashEncoder(), Encoder)
    assert isinstance(FaissStore(dim=4), VectorStore)
    rules = RuleAnswerer(Settings(), {})
    for answerer in (rules, ScriptFolding(rules), CrossLingualAnswerer(HashEncoder()),
                     AnswerStep(rules, CrossLingualAnswerer(HashEncoder()))):
        assert isinstance(answerer, Answerer)

    class OneSpan:
        def read(self, question, passages, top_n=5):
            return [SpanScore(0, 0, 1, 1.0, 0.0)]

    assert isinstance(OneSpan(), SpanReader)


def test_the_vector_store_adds_deletes_by_document_and_persists(tmp_path):
    from rag.index.faiss_store import FaissStore

    s = FaissStore(dim=3)
    eye = np.eye(3, dtype=np.float32)
    s.add("a", eye[:1])
    s.add("b", eye[1:])
    assert len(s) == 3 and [int(i) for i in s.search(eye[2], 3)[0]][:1] == [2]
    s.save(tmp_path)
    back = FaissStore.load(tmp_path, ["a", "b", "b"])
    assert np.array_equal(back.vectors(), eye) and int(back.search(eye[1], 1)[0][0]) == 1
    assert back.delete("a") == 1 and len(back) == 2 and int(back.search(eye[1], 1)[0][0]) == 0
    assert back.delete("missing") == 0


def test_a_query_is_analysed_once_and_carries_what_the_stages_need():
    q = query("湖北到2025年人工智慧產業規模超過多少?")
    assert (q.latin, q.language, q.answer_type) == (False, "zh", "number")
    assert q.folded == "湖北到2025年人工智慧产业规模超过多少?" and len(q.folded) == len(q.text)
    assert q.keywords is not None and q.resolved is None
    f = query("那宁夏呢?", history=["成都每年发放多少算力券?"])
    assert (f.text, f.asked, f.followup, f.resolved) == ("宁夏每年发放多少算力券?", "那宁夏呢?", "ellipsis",
                                                          "宁夏每年发放多少算力券?")
    e = query("How large should Hubei's AI industry be by 2025?")
    assert (e.latin, e.language, e.answer_type) == (True, "en", "number")
    with pytest.raises(QuestionError):
        query("   ")


def test_qasystem_answers_from_passages_the_caller_gives(tmp_path):
    """``QASystem.answer``: the benchmarks' gold-paragraph mode, without private access."""
    from rag import QASystem

    text = "2023年，湖北提出到2025年人工智能核心产业规模超过1500亿元。上海发布了算力券政策。"
    docs = [Document("hubei.txt", text), Document("other.txt", "无关的内容。" * 5)]
    s = Settings().with_overrides({"embed.model": "fake-hash", "reader.weights": "off"})
    qa = QASystem(tmp_path, tmp_path / "ix", s, encoder=HashEncoder(floor=0.85), documents=docs)
    q = qa.analyse("湖北人工智能核心产业规模到2025年超过多少?")
    passages = qa.retrieve_within(q, "hubei.txt")
    assert passages and {p.chunk.doc for p in passages} == {"hubei.txt"}
    ans = qa.answer("湖北人工智能核心产业规模到2025年超过多少?", passages)
    assert ans.answer == "1500亿元" and text[ans.answer_span.start:ans.answer_span.end] == ans.answer
    assert ans.question == "湖北人工智能核心产业规模到2025年超过多少?"
    with pytest.raises(SettingsError, match="choose from hybrid, dense, bm25"):
        qa.retrieve(q, mode="fuzzy")
