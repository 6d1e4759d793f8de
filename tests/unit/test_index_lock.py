"""The index's write lock across real processes (issue #21): a second writer waits, or says who
holds the lock; a lock whose holder was killed (SIGKILL) is free at once; ``rag index`` against a
locked index gives up in one line naming the holder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.index.lock import IndexBusyError, IndexLock, holder
from tests.helpers import ROOT

HOLD = """
import sys, time
from rag.index.lock import IndexLock
with IndexLock(sys.argv[1], wait=0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_told_who_holds_the_lock(tmp_path):
    path = tmp_path / "index" / "write.lock"
    proc = _holder(path, 30)
    try:
        record = holder(path)
        assert record["pid"] == proc.pid
        with pytest.raises(IndexBusyError, match=f"pid {proc.pid} on .*since"):
            with IndexLock(path, wait=0.3):
                pass
    finally:
        proc.kill()
        proc.wait()


def test_a_writer_waits_for_the_other_to_finish(tmp_path):
    path = tmp_path / "write.lock"
    proc = _holder(path, 1.0)
    told: list[str] = []
    t0 = time.monotonic()
    with IndexLock(path, wait=30, on_wait=told.append):
        waited = time.monotonic() - t0
        assert holder(path) is None or holder(path)["pid"] == os.getpid()
    proc.wait()
    assert 0.3 < waited < 10 and len(told) == 1 and f"pid {proc.pid}" in told[0]
    assert holder(path) is None


def test_a_lock_left_by_a_killed_process_is_free_at_once(tmp_path):
    path = tmp_path / "write.lock"
    proc = _holder(path, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert holder(path) is None                 # the record is there, but nobody holds the lock
    t0 = time.monotonic()
    with IndexLock(path, wait=0):
        pass
    assert time.monotonic() - t0 < 1


def test_rag_index_against_a_locked_index_gives_up_in_one_line(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("第一章\n内容。", encoding="utf-8")
    index = tmp_path / "index"
    proc = _holder(index / "write.lock", 60)
    try:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        r = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus), "--index", str(index),
                            "--set", "store.lock_wait_s=0.5"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 2, r.stderr
        lines = [ln for ln in r.stderr.strip().splitlines() if "Loading weights" not in ln]
        assert lines[-1].startswith("rag: the index") and f"pid {proc.pid}" in lines[-1]
        assert "Traceback" not in r.stderr
    finally:
        proc.kill()
        proc.wait()
