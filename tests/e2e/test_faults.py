"""Faults injected into real index builds, each with the same three checks (issue #21): the
previous index still answers, the next run repairs, and the error names the cause.

* ``kill -9`` at 20 random points of a build (``test_kill_9_at_random_points_of_a_build``);
* a full disk (a 512 KB tmpfs as the index folder), a read-only index folder (a tmpfs remounted ro);
* a truncated or altered FAISS file, vector matrix, BM25 file, chunk list, document store or manifest;
* another writer holding the lock while a question comes.

Builds run in their own processes (``tests/fault_driver.py``) with the fake encoder, so that a
build passes through every real step in about a second; the Milvus faults are in
``tests/e2e/test_milvus_faults.py``. Mounting a tmpfs needs root (CI runs as root).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.index.store import IndexStore
from tests.helpers import ROOT, skip_unless_ci

QUESTION = "第七号文件规定的补贴比例是多少?"


def _driver(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.fault_driver", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def _write_corpus(corpus: Path, tag: str, docs: int = 40, paragraphs: int = 12) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        body = "\n".join(f"第{i}号文件第{j}段：本段规定的补贴比例为{(i * 7 + j) % 30 + 1}%，版本{tag}。"
                         f"申请单位应当在每年{j % 12 + 1}月底前提交材料，逾期不予受理。" for j in range(paragraphs))
        (corpus / f"doc{i:02d}.txt").write_text(f"第{i}号文件\n{body}\n", encoding="utf-8")


def _check_whole(index_dir: Path, corpus: Path | None = None) -> set[str]:
    """The live index loads, its parts agree, every chunk's offsets reproduce its text; returns
    the version tags its chunks carry."""
    idx = IndexStore(index_dir).load()
    assert idx is not None, "no readable index"
    assert len(idx.chunks) == len(idx.tokens) == len(idx.dense) == idx.bm25.size
    assert set(c.doc for c in idx.chunks) == set(idx.manifest.documents)
    for c in idx.chunks:
        assert idx.documents[c.doc].text[c.start:c.end] == c.text
    return {c.text.split("版本")[1][:3] for c in idx.chunks if "版本" in c.text}


def _ask(corpus: Path, index: Path) -> dict:
    r = _driver("ask", str(corpus), str(index), QUESTION)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_kill_9_at_random_points_of_a_build(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write_corpus(corpus, "v00")
    t0 = time.monotonic()
    assert _driver("build", str(corpus), str(index)).returncode == 0
    full = time.monotonic() - t0
    rng = random.Random(21)
    finished_before_kill = 0
    for trial in range(1, 21):
        tag = f"v{trial:02d}"
        _write_corpus(corpus, tag)
        before = _check_whole(index)
        proc = subprocess.Popen([sys.executable, "-m", "tests.fault_driver", "build", str(corpus), str(index)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(rng.uniform(0.2, full * 1.1))
        proc.kill()
        out, _ = proc.communicate()
        finished_before_kill += "built" in out
        # whatever the moment, the live index is one whole generation: the one before, or the new one
        tags = _check_whole(index)
        assert tags == before or tags == {tag}, (trial, tags, before)
        # the next run repairs: the new generation, nothing half-written left behind
        r = _driver("build", str(corpus), str(index))
        assert r.returncode == 0, r.stderr
        assert _check_whole(index) == {tag}
        assert not [p for p in os.listdir(index) if p.startswith(".tmp")]
    print(f"kill -9: 20 trials, {finished_before_kill} finished before the kill, every one whole and repaired")
    assert finished_before_kill < 20            # the kills did land inside builds
    hit = _ask(corpus, index)
    assert hit["doc"].startswith("doc") and "v20" in hit["text"]


@pytest.fixture
def tmpfs(tmp_path):
    """A 512 KB tmpfs; yields its path, unmounted afterwards."""
    if os.geteuid() != 0:
        skip_unless_ci("mounting a tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        skip_unless_ci(f"cannot mount a tmpfs: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_keeps_the_previous_index(tmp_path, tmpfs):
    corpus, index = tmp_path / "corpus", tmpfs / "index"
    _write_corpus(corpus, "v01", docs=3, paragraphs=2)
    assert _driver("build", str(corpus), str(index)).returncode == 0
    used = sum(f.stat().st_size for f in index.rglob("*") if f.is_file())
    _write_corpus(corpus, "v02", docs=80, paragraphs=12)       # a version of about 1 MB
    r = _driver("build", str(corpus), str(index))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (f"rag: cannot write the index in {index}: No space left on device; "
                                                 "the previous index is unchanged")
    assert _check_whole(index) == {"v01"}
    assert sum(f.stat().st_size for f in index.rglob("*") if f.is_file()) <= used + 4096   # space given back
    hit = _ask(corpus, index)                   # a question still answers, from the index as it was
    assert "v01" in hit["text"]
    subprocess.run(["mount", "-o", "remount,size=20m", str(tmpfs)], check=True)
    assert _driver("build", str(corpus), str(index)).returncode == 0
    assert _check_whole(index) == {"v02"}


def test_a_read_only_index_folder_keeps_answering(tmp_path, tmpfs):
    corpus, index = tmp_path / "corpus", tmpfs / "index"
    _write_corpus(corpus, "v01", docs=3, paragraphs=2)
    assert _driver("build", str(corpus), str(index)).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    _write_corpus(corpus, "v02", docs=3, paragraphs=2)
    r = _driver("build", str(corpus), str(index))
    assert r.returncode == 2 and "Read-only file system" in r.stderr and "Traceback" not in r.stderr
    r = _driver("ask", str(corpus), str(index), QUESTION)
    assert r.returncode == 0 and "v01" in json.loads(r.stdout)["text"]
    assert "answering from the index as it was" in r.stderr and "Read-only file system" in r.stderr
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    assert _driver("build", str(corpus), str(index)).returncode == 0
    assert _check_whole(index) == {"v02"}


@pytest.mark.parametrize("name,damage", [
    ("dense.faiss", "truncate"), ("vectors.npy", "flip"), ("bm25.npz", "truncate"), ("chunks.jsonl", "flip"),
    ("documents.jsonl", "truncate"), ("manifest.json", "garbage"), ("checksums.json", "delete"),
])
def test_a_damaged_file_is_named_and_the_index_rebuilt(tmp_path, name, damage):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write_corpus(corpus, "v01", docs=4, paragraphs=3)
    assert _driver("build", str(corpus), str(index)).returncode == 0
    live = IndexStore(index).current_path()
    f = live / name
    data = f.read_bytes()
    if damage == "truncate":
        f.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        f.write_bytes(data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1:])
    elif damage == "garbage":
        f.write_text("{not json", encoding="utf-8")
    else:
        f.unlink()
    r = _driver("ask", str(corpus), str(index), QUESTION)
    assert r.returncode == 0, r.stderr
    if name != "checksums.json":                # an index written before checksums has none: still readable
        assert name in r.stderr or "manifest" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert _check_whole(index) == {"v01"}
    assert "v01" in json.loads(r.stdout)["text"]


def test_a_question_during_a_locked_build_is_answered_from_the_previous_index(tmp_path):
    from rag.index.lock import IndexLock

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write_corpus(corpus, "v01", docs=3, paragraphs=2)
    assert _driver("build", str(corpus), str(index)).returncode == 0
    _write_corpus(corpus, "v02", docs=3, paragraphs=2)
    with IndexLock(index / "write.lock", wait=0):       # another writer at work
        t0 = time.monotonic()
        r = _driver("ask", str(corpus), str(index), QUESTION)
        assert time.monotonic() - t0 < 30
    assert r.returncode == 0 and "v01" in json.loads(r.stdout)["text"]
    assert f"pid {os.getpid()}" in r.stderr
    assert _driver("build", str(corpus), str(index)).returncode == 0
    assert _check_whole(index) == {"v02"}
