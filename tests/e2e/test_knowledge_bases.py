"""Knowledge bases (``--kb``, ``kb`` in the API, the UI's selector): each has its own corpus, index and
store collection, and a question never sees another knowledge base's chunks, even where both hold a
document of the same name. Real model, real indexes on disk."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import pytest

from rag.cli.commands import main
from rag.config import Settings
from rag.errors import KnowledgeBaseError
from rag.kb import KnowledgeBases, locate
from tests.helpers import ARTICLE

# the same file name in both knowledge bases, with different facts: a mixed-up index would show
DEFAULT_NOTES = "公司年会定于12月20日在杭州西湖国宾馆举行。年会由行政部负责筹备。\n"
HR_NOTES = "公司年会定于1月8日在成都天府会议中心举行。年会由人力资源部负责筹备。\n"
HR_POLICY = ("员工休假制度\n员工入职满一年后，每年享有带薪年假15天。病假需提供医院证明，"
             "每年累计不超过30天。婚假为10天，须在结婚登记后一年内休完。\n")


@pytest.fixture(scope="module")
def kb_home(tmp_path_factory):
    """``corpus/`` (article + notes) and ``kb/hr/corpus`` (notes + policy), both indexed by the CLI."""
    base = tmp_path_factory.mktemp("kbs")
    (base / "corpus").mkdir()
    (base / "corpus" / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    (base / "corpus" / "notes.txt").write_text(DEFAULT_NOTES, encoding="utf-8")
    hr = base / "kb" / "hr" / "corpus"
    hr.mkdir(parents=True)
    (hr / "notes.txt").write_text(HR_NOTES, encoding="utf-8")
    (hr / "policy.txt").write_text(HR_POLICY, encoding="utf-8")
    for kb in ("default", "hr"):
        assert _rag(base, "index", "--kb", kb)[0] == 0
    return base


def _rag(base: Path, *argv: str) -> tuple[int, str]:
    """``rag`` in-process, with the default knowledge base's folders and the kb root under ``base``."""
    out = io.StringIO()
    kb = argv[argv.index("--kb") + 1] if "--kb" in argv else "default"
    where = ["--corpus", str(base / "corpus"), "--index", str(base / "index")] if kb == "default" else []
    rc = main([*argv, *where, "--set", f"paths.kb_root={base / 'kb'}"], out)
    return rc, out.getvalue()


def _ask(base: Path, kb: str, question: str) -> dict:
    rc, out = _rag(base, "ask", "--kb", kb, "--json", question)
    assert rc == 0, out
    return json.loads(out)


def _kbs(base: Path) -> KnowledgeBases:
    settings = Settings.from_env().with_overrides({"paths.kb_root": str(base / "kb")})
    default = locate("default", base / "corpus", base / "index")
    return KnowledgeBases(settings, corpus=default.corpus_dir, index=default.index_dir)


def test_each_knowledge_base_has_its_own_folders_and_index(kb_home):
    assert (kb_home / "index").is_dir() and (kb_home / "kb" / "hr" / "index").is_dir()
    rc, out = _rag(kb_home, "kbs", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rc == 0 and set(rows) == {"default", "hr"} and rows["default"]["default"]
    assert rows["hr"]["documents"] == 2 and rows["default"]["documents"] == 2
    rc, out = _rag(kb_home, "list", "--kb", "hr", "--json")
    assert sorted(d["doc"] for d in json.loads(out)) == ["notes.txt", "policy.txt"]


def test_a_question_never_sees_another_knowledge_bases_chunks(kb_home):
    hr_text = {p.name: p.read_text(encoding="utf-8") for p in (kb_home / "kb" / "hr" / "corpus").iterdir()}
    default_text = {"article.txt": ARTICLE.read_text(encoding="utf-8"), "notes.txt": DEFAULT_NOTES}
    questions = ["公司年会在哪里举行?", "年会由哪个部门负责筹备?", "员工每年有多少天带薪年假?",
                 "湖北到2025年人工智能产业规模超过多少?", "谁是百度首席技术官?"]
    for kb, texts in (("hr", hr_text), ("default", default_text)):
        for q in questions:
            ans = _ask(kb_home, kb, q)
            for c in ans["citations"]:
                assert c["doc"] in texts, (kb, q, c["doc"])
                assert texts[c["doc"]][c["start"]:c["end"]] == c["text"], (kb, q)   # offsets into this kb's file
            if ans["answer"] is not None:
                span = ans["answer_span"]
                assert texts[span["doc"]][span["start"]:span["end"]] == ans["answer"]
    where_hr = _ask(kb_home, "hr", "公司年会在哪里举行?")
    where_default = _ask(kb_home, "default", "公司年会在哪里举行?")
    assert "成都" in where_hr["answer"] and "西湖国宾馆" not in json.dumps(where_hr, ensure_ascii=False)
    assert "杭州" in where_default["answer"] and "天府会议中心" not in json.dumps(where_default, ensure_ascii=False)
    assert "15天" in _ask(kb_home, "hr", "员工每年有多少天带薪年假?")["answer"]


def test_kb_names_are_checked_and_unknown_ones_listed(kb_home, capsys):
    rc, _ = _rag(kb_home, "ask", "--kb", "人事", "年假?")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "knowledge base" in err
    kbs = _kbs(kb_home)
    assert kbs.names() == ["default", "hr"]
    with pytest.raises(KnowledgeBaseError, match=r"unknown knowledge base 'sales' \(choose from default, hr\)"):
        kbs.system("sales")
    rc, _ = _rag(kb_home, "ask", "--kb", "sales", "年假?")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "kb/sales/corpus" in err and err.count("\n") == 0


def test_the_api_answers_from_the_knowledge_base_named(kb_home):
    from fastapi.testclient import TestClient

    from ui.server import create_app

    kbs = _kbs(kb_home)
    with TestClient(create_app(kbs.system(None), ui=False, kbs=kbs)) as c:
        body = c.post("/api/ask", json={"question": "公司年会在哪里举行?", "kb": "hr"}).json()
        assert "成都" in body["answer"] and {x["doc"] for x in body["citations"]} <= {"notes.txt", "policy.txt"}
        assert "杭州" in c.post("/api/ask", json={"question": "公司年会在哪里举行?"}).json()["answer"]
        r = c.post("/api/ask", json={"question": "年假?", "kb": "sales"})
        assert r.status_code == 404 and "default, hr" in r.json()["error"]
        assert c.post("/api/ask", json={"question": "年假?", "kb": 7}).status_code == 422
        assert c.post("/api/ask", json={"question": "年假?", "kb": "人事"}).status_code == 422
        names = [k["name"] for k in c.get("/api/kbs").json()["knowledge_bases"]]
        assert names == ["default", "hr"]
        assert [k["name"] for k in c.get("/api/health").json()["knowledge_bases"]] == ["default", "hr"]
        docs = c.get("/api/documents", params={"kb": "hr"}).json()["documents"]
        assert sorted(d["doc"] for d in docs) == ["notes.txt", "policy.txt"]
        assert c.get("/api/documents/notes.txt/text", params={"kb": "hr"}).json()["text"] == HR_NOTES
        assert c.get("/api/documents/notes.txt/text").json()["text"] == DEFAULT_NOTES
        assert "成都" in c.get("/view/notes.txt", params={"kb": "hr"}).text
        assert c.get("/api/documents", params={"kb": "sales"}).status_code == 404
        up = c.post("/api/documents", params={"kb": "hr", "wait": "true"},
                    files={"files": ("travel.txt", "差旅报销须在出差结束后30日内提交。\n".encode(), "text/plain")})
        assert up.status_code == 200, up.text
        assert (kb_home / "kb" / "hr" / "corpus" / "travel.txt").is_file()
        assert not (kb_home / "corpus" / "travel.txt").exists()
        hr_answer = c.post("/api/ask", json={"question": "差旅报销须在多少日内提交?", "kb": "hr"}).json()
        assert "30日" in hr_answer["answer"]
        default_answer = c.post("/api/ask", json={"question": "差旅报销须在多少日内提交?"}).json()
        assert all(x["doc"] != "travel.txt" for x in default_answer["citations"])
        assert c.delete("/api/documents/travel.txt", params={"kb": "hr"}).status_code == 200


def test_the_chat_answers_from_the_knowledge_base_chosen(kb_home):
    from ui.app import ChatHandlers

    h = ChatHandlers(_kbs(kb_home), 3)
    *_, (_, _, messages, _, sources) = list(h.ask("公司年会在哪里举行?", 3, [], [], "hr"))
    assert "成都" in messages[-1]["content"] and "/view/notes.txt?kb=hr&start=" in html.unescape(sources)
    *_, (_, _, messages, _, sources) = list(h.ask("公司年会在哪里举行?", 3, [], [], "default"))
    assert "杭州" in messages[-1]["content"] and "kb=" not in html.unescape(sources)
