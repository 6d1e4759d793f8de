"""Load test of ``rag serve``: many simultaneous clients against ``POST /api/ask``.

Starts a real server (``python -m rag.cli serve --port 0``, a separate process,
bound to 127.0.0.1 on a free port), asks every distinct question once on its
own to get the reference answers, then lets ``--clients`` clients (default
20) send ``--requests`` questions in all (default 200), all clients starting at
the same instant. Every answer under load must equal its reference answer.
Prints latency figures (median, p95, max), throughput, errors and
mismatches; exits 1 if any request failed or differed. Run from the
repository root::

    python scripts/load_test.py [--clients 20] [--requests 200] [--workers 2] [--set embed.threads=1] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "article_qa.jsonl"
URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+/)")


def load_questions(path: Path, limit: int | None) -> list[str]:
    """The ``question`` of each JSON line.

    Args:
        path: a JSON Lines file.
        limit: keep the first ``limit`` (None: all).

    Returns:
        Questions.
    """
    qs = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return qs[:limit] if limit else qs


def start_server(args: argparse.Namespace, index_dir: str) -> tuple[subprocess.Popen, str]:
    """Run ``rag serve`` on a free loopback port and wait until it answers.

    Args:
        args: the parsed options (corpus, model, workers, startup timeout).
        index_dir: the index directory.

    Returns:
        The process and its base URL.

    Raises:
        RuntimeError: the server did not come up.
    """
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", "0",
           "--corpus", args.corpus, "--index", index_dir, "--workers", str(args.workers)]
    if args.model:
        cmd += ["--model", args.model]
    for pair in getattr(args, "set", None) or []:
        cmd += ["--set", pair]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + args.startup_timeout
    assert proc.stdout is not None
    line = proc.stdout.readline()          # the "serving at <url>" line, printed once loaded
    match = URL_RE.search(line)
    if not match:
        proc.kill()
        raise RuntimeError(f"server did not start (exit {proc.poll()}): {line.strip()!r}")
    url = match.group(1)
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not answer /api/health in time")


async def run_load(url: str, questions: list[str], expected: dict[str, Any], clients: int,
                   total: int, timeout: float) -> dict[str, Any]:
    """``clients`` concurrent clients send ``total`` requests between them.

    Args:
        url: the server's base URL.
        questions: asked round-robin.
        expected: question → reference JSON.
        clients: simultaneous clients.
        total: requests in all.
        timeout: seconds per request.

    Returns:
        Latencies (seconds), errors, mismatches and wall time.
    """
    latencies: list[float] = []
    errors: list[str] = []
    mismatches: list[str] = []
    counter = iter(range(total))
    start_gate = asyncio.Event()

    async def client() -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:
            await start_gate.wait()
            for n in counter:
                q = questions[n % len(questions)]
                t0 = time.perf_counter()
                try:
                    r = await http.post("/api/ask", json={"question": q})
                except httpx.HTTPError as exc:
                    errors.append(f"{q}: {type(exc).__name__}")
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors.append(f"{q}: HTTP {r.status_code}")
                elif r.json() != expected[q]:
                    mismatches.append(q)

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    await asyncio.sleep(0.2)                 # every client ready before the gate opens
    t0 = time.perf_counter()
    start_gate.set()
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "errors": errors, "mismatches": mismatches,
            "wall_s": time.perf_counter() - t0}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile.

    Args:
        values: samples.
        p: in [0, 100].

    Returns:
        The percentile (0.0 for no samples).
    """
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=20, help="simultaneous clients (default 20)")
    ap.add_argument("--requests", type=int, default=200, help="requests in all (default 200)")
    ap.add_argument("--workers", type=int, default=2, help="server: questions answered at once (default 2)")
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--index", default=None, help="index directory (default: a fresh temporary one)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--questions", type=Path, default=QUESTIONS, help="JSON Lines with a question field")
    ap.add_argument("--distinct", type=int, default=40, help="distinct questions used (default 40)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    ap.add_argument("--startup-timeout", type=float, default=300.0)
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="a setting for the server, e.g. embed.threads=1 (repeatable)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    return ap.parse_args(argv)


def measure(args: argparse.Namespace) -> tuple[dict[str, Any], list[float]]:
    """Start a server, take the reference answers one at a time, then load it: (the load's results, the
    unloaded latencies)."""
    questions = load_questions(args.questions, args.distinct)
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        proc, url = start_server(args, args.index or str(Path(tmp) / "index"))
        try:
            with httpx.Client(base_url=url, timeout=args.timeout) as http:
                seq: list[float] = []
                expected = {}
                for q in questions:              # one at a time: reference answers and unloaded latency
                    t0 = time.perf_counter()
                    r = http.post("/api/ask", json={"question": q})
                    seq.append(time.perf_counter() - t0)
                    r.raise_for_status()
                    expected[q] = r.json()
            res = asyncio.run(run_load(url, questions, expected, args.clients, args.requests, args.timeout))
        finally:
            stop_server(proc)
    return res, seq


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_server` (killed if it does not stop within 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def print_figures(figures: dict[str, Any], workers: int) -> None:
    print(f"{figures['clients']} clients, {figures['requests']} requests, server workers {workers}, "
          f"{figures['cpus']} CPUs")
    print(f"answered correctly: {figures['answered'] - figures['mismatches']}/{figures['requests']}  "
          f"errors: {figures['errors']}  mismatches: {figures['mismatches']}")
    print(f"latency under load: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, "
          f"max {figures['max_ms']} ms; throughput {figures['throughput_rps']} req/s")
    print(f"one client alone:   p50 {figures['single_client_p50_ms']} ms, "
          f"p95 {figures['single_client_p95_ms']} ms")


def main(argv: list[str] | None = None) -> int:
    """Run the load test.

    Args:
        argv: command-line arguments.

    Returns:
        0 when every request was answered correctly, else 1.
    """
    args = parse_args(argv)
    res, seq = measure(args)
    lat = res["latencies"]
    figures = {
        "clients": args.clients, "requests": args.requests, "workers": args.workers, "cpus": os.cpu_count(),
        "answered": len(lat) - len(res["errors"]), "errors": len(res["errors"]),
        "mismatches": len(res["mismatches"]),
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p95_ms": round(1000 * percentile(lat, 95), 1), "max_ms": round(1000 * max(lat, default=0.0), 1),
        "throughput_rps": round(len(lat) / res["wall_s"], 2), "wall_s": round(res["wall_s"], 2),
        "single_client_p50_ms": round(1000 * statistics.median(seq), 1),
        "single_client_p95_ms": round(1000 * percentile(seq, 95), 1),
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        print_figures(figures, args.workers)
    for e in res["errors"][:5] + [f"mismatch: {q}" for q in res["mismatches"][:5]]:
        print(e, file=sys.stderr)
    return 0 if not res["errors"] and not res["mismatches"] and len(lat) == args.requests else 1


if __name__ == "__main__":
    sys.exit(main())
