"""The chat's HTML escapes what it shows, and the ``serve`` command line (no model needed).

The JSON API and the chat with the real model: ``tests/e2e/test_api.py``.
"""

from __future__ import annotations

import html
import socket

from rag.types import Answer, Citation, Span

HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
           '[点我](javascript:window.__pwned=1) **粗** $x$')


# --- the chat's HTML --------------------------------------------------------------------------

def _hostile_answer() -> Answer:
    doc_text = "前文<b>粗</b>。价格为<script>alert(1)</script>1.5元[x](javascript:alert(1))。后文"
    start = doc_text.index("1.5元")
    cit = Citation(rank=1, doc="<img src=x onerror=alert(1)>.txt", chunk_id="c#0",
                   heading="<script>alert(2)</script>", start=0, end=len(doc_text), text=doc_text, score=0.5)
    return Answer(question=HOSTILE, answer="1.5元", confidence=0.9,
                  answer_span=Span(cit.doc, start, start + 4), citations=(cit,),
                  sentence_span=Span(cit.doc, doc_text.index("价格"), len(doc_text) - 2))


def _assert_inert(html: str) -> None:
    low = html.lower()
    for bad in ("<script", "<img", "<b>", "javascript:", "onerror=", "](", "**", "$x$"):
        assert bad not in low, bad


def test_esc_and_highlight_escape_pieces_separately():
    from ui.render import esc, highlight

    assert esc("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;"
    assert esc("&lt;") == "&amp;lt;"                    # never unescapes
    assert highlight("x<y>z", 1, 4) == "x<mark>&lt;y&gt;</mark>z"
    assert highlight("abc", 2, 2) == "abc"
    assert highlight("a\nb", 0, 1) == "<mark>a</mark><br>b"


def test_rendered_chat_html_escapes_hostile_text():
    from ui.render import render_question, render_reply, render_sources

    ans = _hostile_answer()
    text = ans.citations[0].text
    reply = render_reply(ans, lambda doc: text)
    _assert_inert(reply)
    assert "<mark>1.5元</mark>" in reply
    assert "&lt;script&gt;" in reply
    sources = render_sources(ans)
    _assert_inert(sources)
    assert "<mark>1.5元</mark>" in sources and "&lt;img src" in sources
    question = render_question(HOSTILE)
    _assert_inert(question)
    inner = question.removeprefix('<div class="rag-q">').removesuffix("</div>")
    assert html.unescape(inner) == HOSTILE                 # shown exactly as typed


# --- the command line -------------------------------------------------------------------------

def test_serve_is_registered_with_loopback_default():
    from rag.cli.commands import build_parser
    from ui.server import cmd_serve

    args = build_parser().parse_args(["serve"])
    assert args.handler is cmd_serve
    assert (args.host, args.port, args.kb, args.corpus, args.index, args.model) == ("127.0.0.1", 7860, None, None, None, None)


def test_serve_reports_a_busy_port_in_one_line(capsys, tmp_path):
    from rag.cli.commands import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        status = main(["serve", "--port", str(port), "--corpus", str(tmp_path), "--index", str(tmp_path / "i")])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rag: cannot listen on 127.0.0.1:") and "\n" not in err


def test_a_server_with_several_workers_runs_one_onnx_thread_per_session_unless_told():
    from rag.config import Settings
    from ui.server import serving_overrides

    s = Settings.from_pairs(serving_overrides(2, []))
    assert (s.embed.threads, s.reader.threads, s.reader.workers) == (1, 1, 1)   # requests are the parallelism
    s = Settings.from_pairs(serving_overrides(2, ["reader.threads=2"]))
    assert (s.embed.threads, s.reader.threads) == (1, 2)         # the command line's own choice stands
    assert serving_overrides(1, ["embed.threads=0"]) == ["embed.threads=0"]
