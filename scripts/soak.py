"""Soak test of ``rag serve`` (issue #21): many clients asking for a long while, mixed with uploads
and deletions, against a real server process on 127.0.0.1.

``--clients`` clients (default 50) each ask ``--questions`` questions (default 40) from the article
sets, back to back. Beside them one writer, in rounds: uploads a small document holding a fact
found nowhere else, waits for its job, asks about it (the answer must cite it), deletes it, then
asks again (no answer may cite it once the deletion has returned). Every second the server's
resident memory (``/proc/<pid>/status`` VmRSS) and open file descriptors (``/proc/<pid>/fd``) are
sampled; their slopes over the run (least squares, per minute) tell a leak from noise.

Passes (exit 0) with 0 errors, 0 5xx, 0 tracebacks in the server's log, 0 answers citing a deleted
document, and 0 documents lost (the corpus's documents are all listed at the end). Run from the
repository root::

    bash scripts/soak.sh                              # 50 clients x 40 questions, JSON to docs/bench/soak.json
    python scripts/soak.py --clients 5 --questions 4  # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "corpus" / "article.txt"     # the seed article as the repository ships it (any clone location)
QUESTIONS = ROOT / "tests" / "data" / "article_qa.jsonl"
URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+/)")


def questions() -> list[str]:
    """The article development questions (the load is theirs)."""
    return [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def start(corpus: Path, index: Path, workers: int) -> tuple[subprocess.Popen, str, Path]:
    """``rag serve`` on a free loopback port, rate limit off (one address is every client here)."""
    log = Path(tempfile.mkstemp(prefix="soak-serve-", suffix=".log")[1])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", "0", "--corpus", str(corpus),
                             "--index", str(index), "--workers", str(workers), "--set", "serve.rate_per_minute=0"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    line = proc.stdout.readline()
    match = URL_RE.search(line)
    if not match:
        proc.kill()
        raise SystemExit(f"rag serve did not start: {line!r}\n{log.read_text()[-2000:]}")
    return proc, match.group(1), log


def sample(pid: int) -> tuple[float, int]:
    """The process's resident memory (MiB) and open file descriptors."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` points, per minute."""
    if len(points) < 3:
        return 0.0
    ts, vs = [p[0] for p in points], [p[1] for p in points]
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return 60.0 * sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / den if den else 0.0


async def run(url: str, pid: int, clients: int, per_client: int, rounds: int) -> dict[str, Any]:
    qs = questions()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    failures: list[str] = []
    stale: list[str] = []
    memory: list[tuple[float, float]] = []
    fds: list[tuple[float, float]] = []
    t0 = time.monotonic()
    done = asyncio.Event()

    def count(kind: str, status: int) -> None:
        key = f"{kind} {status}"
        statuses[key] = statuses.get(key, 0) + 1

    async def asker(n: int, http: httpx.AsyncClient) -> None:
        for k in range(per_client):
            q = qs[(n * per_client + k) % len(qs)]
            t = time.perf_counter()
            try:
                r = await http.post("api/ask", json={"question": q})
            except httpx.HTTPError as exc:
                failures.append(f"ask: {type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - t)
            count("ask", r.status_code)
            if r.status_code != 200:
                failures.append(f"ask {q!r}: {r.status_code} {r.text[:200]}")

    async def writer(http: httpx.AsyncClient) -> None:
        for rnd in range(rounds):
            name = f"soak-{rnd}.txt"
            fact = f"浸泡测试第{rnd}轮的暗号是青松{rnd}号。"
            r = await http.post("api/documents?wait=true", files=[("files", (name, f"暗号\n{fact}\n".encode()))])
            count("upload", r.status_code)
            if r.status_code != 200:
                failures.append(f"upload {name}: {r.status_code} {r.text[:200]}")
                continue
            r = await http.post("api/ask", json={"question": f"浸泡测试第{rnd}轮的暗号是什么?"})
            count("ask-new", r.status_code)
            if r.status_code != 200 or not any(c["doc"] == name for c in r.json().get("citations", [])):
                failures.append(f"the uploaded {name} was not cited: {r.status_code} {r.text[:200]}")
            r = await http.delete(f"api/documents/{name}")
            count("delete", r.status_code)
            if r.status_code != 200:
                failures.append(f"delete {name}: {r.status_code} {r.text[:200]}")
                continue
            r = await http.post("api/ask", json={"question": f"浸泡测试第{rnd}轮的暗号是什么?"})
            count("ask-deleted", r.status_code)
            if r.status_code == 200 and any(c["doc"] == name for c in r.json().get("citations", [])):
                stale.append(name)
            if done.is_set():
                break

    async def sampler() -> None:
        while not done.is_set():
            rss, fd = sample(pid)
            now = time.monotonic() - t0
            memory.append((now, rss))
            fds.append((now, fd))
            await asyncio.sleep(1.0)

    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
        tasks = [asyncio.create_task(asker(n, http)) for n in range(clients)]
        side = [asyncio.create_task(writer(http)), asyncio.create_task(sampler())]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - t0
        await side[0]
        done.set()
        await side[1]
        listed = (await http.get("api/documents")).json()["documents"]
    lat = sorted(latencies)
    return {"clients": clients, "questions_per_client": per_client, "questions": len(latencies),
            "write_rounds": rounds, "seconds": round(elapsed, 1),
            "throughput_qps": round(len(latencies) / elapsed, 2) if elapsed else 0.0,
            "p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
            "p95_ms": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
            "max_ms": round(1000 * lat[-1], 1) if lat else None,
            "statuses": statuses, "errors": len(failures), "failures": failures[:20],
            "server_5xx": sum(v for k, v in statuses.items() if k.split()[1].startswith("5")),
            "cited_after_delete": stale, "documents_listed": sorted(d["doc"] for d in listed),
            "rss_mib_start": memory[0][1] if memory else None, "rss_mib_end": memory[-1][1] if memory else None,
            "rss_mib_slope_per_min": round(slope(memory), 2),
            # caches fill at first: the second half of the run shows a leak, if there is one
            "rss_mib_slope_per_min_second_half": round(slope(memory[len(memory) // 2:]), 2),
            "fds_start": fds[0][1] if fds else None,
            "fds_end": fds[-1][1] if fds else None, "fds_slope_per_min": round(slope(fds), 3),
            "samples": len(memory)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--questions", type=int, default=40, help="questions per client")
    p.add_argument("--rounds", type=int, default=10, help="upload / ask / delete rounds of the writer")
    p.add_argument("--workers", type=int, default=2, help="rag serve --workers")
    p.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = p.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="soak-"))
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / "article.txt")
    proc, url, log = start(corpus, base / "index", args.workers)
    try:
        result = asyncio.run(run(url, proc.pid, args.clients, args.questions, args.rounds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    server_log = log.read_text(encoding="utf-8", errors="replace")
    result["tracebacks"] = server_log.count("Traceback")
    result["lost_documents"] = [d for d in ["article.txt"] if d not in result["documents_listed"]]
    shutil.rmtree(base, ignore_errors=True)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    ok = (result["errors"] == 0 and result["server_5xx"] == 0 and not result["cited_after_delete"]
          and result["tracebacks"] == 0 and not result["lost_documents"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
