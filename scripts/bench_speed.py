"""Speed and memory of the whole tool as a user meets it, for several runtimes side by side (issue #19).

Four measures per variant, each in fresh processes so that imports and model loads count:

* **index**: a new index of CMRC 2018 dev's 848 paragraphs (its questions are never read), from
  process start to the index written; chunks per second;
* **cold ask**: ``rag ask`` on the article, process start to the answer printed, median of ``--cold-runs``
  (the article's index exists already, built by the same variant);
* **serve memory**: ``rag serve`` resident memory after ``--serve-questions`` questions of the article
  sets through ``POST /api/ask`` (and its peak);
* **latency**: the question latency with the models loaded, reader on, p50 / p95 over the article
  development questions (each asked once to warm up, then timed), in one process;
* **quality**: what must not drop when the runtime changes, from ``rag eval`` and
  ``scripts/eval_article.py``: hybrid retrieval Recall@1/5 on CMRC 2018 dev, DRCD dev and the article
  development set, and end-to-end CMRC dev F1/EM with the reader (the issue's "within 0.5 points").
  This is the slow part (a full ``rag eval`` of CMRC and of DRCD per variant); the indexes are cached
  by ``rag eval`` per runtime, so a second run only asks again.

A variant is a set of runtimes (``torch``: sentence-transformers and the torch reader, as before
issue #19; ``onnx`` / ``onnx-int8``: both on ONNX Runtime; ``serial``: the default runtimes with one
ONNX run at a time; ``default``: whatever the settings ship).
The variants run one after the other in the same invocation, so they meet the same machine.

    python scripts/bench_speed.py --variants torch,default --json docs/bench/speed.json

Options ``--skip index,cold,serve,latency`` leave measures out; ``--threads`` sets the torch/ONNX
threads of every process (default: the machine's).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_QUESTIONS = ROOT / "tests" / "data" / "article_qa.jsonl"
HELDOUT_QUESTIONS = ROOT / "tests" / "data" / "article_qa_holdout.jsonl"
COLD_QUESTION = "北京的算力券实施方案何时出台的?"
MEASURES = ("index", "cold", "serve", "latency", "quality")

#: Settings of each named variant (``--set`` pairs); ``default`` changes nothing.
VARIANTS: dict[str, dict[str, str]] = {
    "torch": {"embed.runtime": "torch", "reader.runtime": "torch"},
    "onnx": {"embed.runtime": "onnx", "reader.runtime": "onnx"},
    "onnx-int8": {"embed.runtime": "onnx-int8", "reader.runtime": "onnx-int8"},
    # the default runtimes, one run at a time on every core (the default before runs went side by side)
    "serial": {"embed.workers": "1", "reader.workers": "1"},
    "default": {},
}


def _load_test() -> Any:
    """scripts/load_test.py as a module (it starts a real server; the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location("load_test", ROOT / "scripts" / "load_test.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def _questions(*paths: Path) -> list[str]:
    out: list[str] = []
    for path in paths:
        out += [json.loads(x)["question"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return out


def _set_args(variant: str) -> list[str]:
    return [a for k, v in VARIANTS[variant].items() for a in ("--set", f"{k}={v}")]


def _env(threads: int) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def _run(cmd: list[str], env: dict[str, str], timeout: float = 3600) -> tuple[float, str]:
    """Run a command; (wall seconds from start to exit, its stdout). Raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return wall, proc.stdout


# --- measures: each in its own processes ------------------------------------------------------

def measure_index(variant: str, work: Path, env: dict[str, str], data: str | None) -> dict[str, Any]:
    """A fresh index of CMRC dev's paragraphs, process start to written."""
    out = work / f"index-cmrc-{variant}"
    cmd = [sys.executable, __file__, "_index", "--out", str(out), "--variant", variant]
    if data:
        cmd += ["--data", data]
    wall, stdout = _run(cmd, env)
    report = json.loads(stdout.strip().splitlines()[-1])
    return {"chunks": report["chunks"], "wall_s": round(wall, 2), "chunks_per_s": round(report["chunks"] / wall, 2),
            "build_s": report["build_s"], "stages_s": report.get("stages_s")}


def _ask_cmd(variant: str, work: Path) -> list[str]:
    index = work / f"index-article-{variant}"
    return [sys.executable, "-m", "rag.cli", "ask", COLD_QUESTION, "--index", str(index), *_set_args(variant)]


def prepare(variant: str, work: Path, env: dict[str, str]) -> float:
    """One untimed ``rag ask`` that builds the variant's article index (and any one-off model export)."""
    return round(_run(_ask_cmd(variant, work), env)[0], 2)


def measure_cold(variant: str, work: Path, env: dict[str, str], runs: int) -> dict[str, Any]:
    """``rag ask`` on the article from process start (the index exists: :func:`prepare`)."""
    cmd = _ask_cmd(variant, work)
    walls, answer = [], ""
    for _ in range(runs):
        wall, stdout = _run(cmd, env)
        walls.append(wall)
        answer = next((x for x in stdout.splitlines() if x.startswith("答案")), "")
    return {"median_s": round(statistics.median(walls), 2), "runs_s": [round(w, 2) for w in walls],
            "answer": answer.strip()}


def _rss_mb(pid: int) -> dict[str, float]:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "peak_rss_mb": fields.get("VmHWM", 0.0)}


def measure_serve(variant: str, work: Path, threads: int, questions: int) -> dict[str, Any]:
    """``rag serve``'s resident memory after ``questions`` questions, asked one at a time."""
    import httpx

    lt = _load_test()
    index = work / f"index-article-{variant}"
    ns = argparse.Namespace(corpus=str(ROOT / "corpus"), model=None, workers=2, startup_timeout=600.0,
                            set=[f"{k}={v}" for k, v in VARIANTS[variant].items()])
    saved = dict(os.environ)
    os.environ.update(_env(threads))
    try:
        proc, url = lt.start_server(ns, str(index))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        qs = _questions(ARTICLE_QUESTIONS, HELDOUT_QUESTIONS)
        with httpx.Client(base_url=url, timeout=300) as http:
            loaded = _rss_mb(proc.pid)
            for n in range(questions):
                http.post("/api/ask", json={"question": qs[n % len(qs)]}).raise_for_status()
        after = _rss_mb(proc.pid)
    finally:
        lt.stop_server(proc)
    return {"questions": questions, "rss_loaded_mb": loaded["rss_mb"], "rss_after_mb": after["rss_mb"],
            "peak_rss_mb": after["peak_rss_mb"]}


def measure_quality(variant: str, env: dict[str, str], data: str | None) -> dict[str, Any]:
    """Recall@1/5 (hybrid and dense-only) on CMRC dev, DRCD dev and the article; CMRC dev F1/EM end to end.

    Only CMRC's hybrid run reads with the reader (its F1/EM); the other runs measure retrieval, so they
    answer with the rules alone, which takes a fraction of the time and changes no ranking.
    """
    def recall(row: dict[str, Any]) -> dict[str, float]:
        return {k: round(100 * row[k], 2) for k in ("recall@1", "recall@5")}

    def modes(name: str, which: str, *extra: str) -> dict[str, Any]:
        cmd = [sys.executable, "-m", "rag.cli", "eval", name, "--modes", which, "--no-oracle", "--json",
               *_set_args(variant), *extra]
        if data:
            cmd += ["--data", data]
        return json.loads(_run(cmd, env, timeout=6 * 3600)[1])["modes"]

    off = ("--set", "reader.weights=off")
    cmrc = modes("cmrc", "hybrid")["hybrid"]
    drcd = modes("drcd", "hybrid,dense", *off)
    out: dict[str, Any] = {
        "cmrc": {**recall(cmrc), "dense": recall(modes("cmrc", "dense", *off)["dense"]),
                 "f1": round(cmrc["f1"], 2), "em": round(cmrc["em"], 2)},
        "drcd": {**recall(drcd["hybrid"]), "dense": recall(drcd["dense"])}}
    _, stdout = _run([sys.executable, "scripts/eval_article.py", "--json", "--variants", *_set_args(variant)], env)
    rows = {r["mode"]: r for r in json.loads(stdout)}
    out["article"] = {**recall(rows["hybrid"]), "dense": recall(rows["dense"])}
    return out


def measure_latency(variant: str, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Question latency with the models loaded, in one process."""
    index = work / f"index-article-{variant}"
    _, stdout = _run([sys.executable, __file__, "_latency", "--index", str(index), "--variant", variant], env)
    return json.loads(stdout.strip().splitlines()[-1])


# --- workers: run as subprocesses of this script ----------------------------------------------

def _settings(variant: str) -> Any:
    from rag.config import Settings

    return Settings.from_env().with_overrides(dict(VARIANTS[variant]))


def worker_index(out: Path, variant: str, data: str | None) -> None:
    from rag.bench.squad import load_named
    from rag.pipeline import QASystem

    settings = _settings(variant)
    docs = load_named("cmrc", data or settings.paths.bench_data).documents()
    t0 = time.perf_counter()
    report = QASystem(corpus_dir=out, index_dir=out, settings=settings, documents=docs).build(force=True)
    print(json.dumps({"chunks": report.chunks, "build_s": round(time.perf_counter() - t0, 2),
                      "stages_s": {k: round(v, 2) for k, v in report.timings.items()}}))


def worker_latency(index: Path, variant: str) -> None:
    from rag.bench.figures import percentile
    from rag.pipeline import QASystem

    qa = QASystem(corpus_dir=ROOT / "corpus", index_dir=index, settings=_settings(variant))
    qa.ensure_index()
    qs = _questions(ARTICLE_QUESTIONS)
    for q in qs:
        qa.ask(q)
    times = []
    for q in qs:
        t0 = time.perf_counter()
        qa.ask(q)
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"questions": len(qs), "reader": qa.uses_reader(), "p50_ms": round(percentile(times, 50), 1),
                      "p95_ms": round(percentile(times, 95), 1)}))


# --- the report -----------------------------------------------------------------------------------

def _recall_cell(r: dict[str, Any]) -> str:
    return f"{r['recall@1']} / {r['recall@5']}"


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    """The measures as a Markdown table, a column per variant."""
    names = list(results)
    rows = [
        ("indexing, CMRC dev, model load included (chunks/s)", "index", lambda r: f"{r['chunks_per_s']}"),
        ("cold `rag ask`, process start to answer (s, median)", "cold", lambda r: f"{r['median_s']}"),
        ("`rag serve` resident memory after the questions (MB)", "serve", lambda r: f"{r['rss_after_mb']}"),
        ("question latency, models loaded, p50 / p95 (ms)", "latency", lambda r: f"{r['p50_ms']} / {r['p95_ms']}"),
        *((f"Recall@1 / @5, {mode}: {label}", "quality",
           lambda r, key=key, mode=mode: _recall_cell(r[key] if mode == "hybrid" else r[key]["dense"]))
          for key, label in (("cmrc", "CMRC dev"), ("drcd", "DRCD dev"), ("article", "article development set"))
          for mode in ("hybrid", "dense")),
        ("CMRC dev end to end, reader on: F1 / EM", "quality", lambda r: f"{r['cmrc']['f1']} / {r['cmrc']['em']}"),
    ]
    lines = ["| measure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key, fmt in rows:
        cells = [fmt(results[n][key]) if key in results[n] else "–" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_index", "_latency"):
        ap = argparse.ArgumentParser()
        ap.add_argument("--out", type=Path)
        ap.add_argument("--index", type=Path)
        ap.add_argument("--variant", required=True)
        ap.add_argument("--data")
        a = ap.parse_args(argv[1:])
        worker_index(a.out, a.variant, a.data) if argv[0] == "_index" else worker_latency(a.index, a.variant)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="torch,default", help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--skip", default="", help=f"measures left out, of {', '.join(MEASURES)}")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--serve-questions", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0, help="threads of every process (0: the default)")
    ap.add_argument("--data", default=None, help="bench data directory (default: ../shared/bench)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant {unknown[0]!r}: choose from {', '.join(VARIANTS)}")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    env = _env(args.threads)
    results: dict[str, dict[str, Any]] = {v: {} for v in variants}
    with tempfile.TemporaryDirectory(prefix="rag-speed-") as tmp:
        work = Path(tmp)
        for v in variants:
            if "index" not in skip:
                results[v]["index"] = measure_index(v, work, env, args.data)
            if not {"cold", "serve", "latency"} <= skip:
                results[v]["first_ask_s"] = prepare(v, work, env)
            if "cold" not in skip:
                results[v]["cold"] = measure_cold(v, work, env, args.cold_runs)
            if "serve" not in skip:
                results[v]["serve"] = measure_serve(v, work, args.threads, args.serve_questions)
            if "latency" not in skip:
                results[v]["latency"] = measure_latency(v, work, env)
            if "quality" not in skip:
                results[v]["quality"] = measure_quality(v, env, args.data)
            print(f"{v}: {json.dumps(results[v], ensure_ascii=False)}", file=sys.stderr)
    print("\n".join(table(results)))
    if args.json:
        from rag.bench.figures import code_version, machine_info

        args.json.write_text(json.dumps({"machine": machine_info(), "code": code_version(), "threads": args.threads,
                                         "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "skipped": sorted(skip),
                                         "results": results}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
