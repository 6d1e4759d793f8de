"""Paths and the CI rule shared by every tier (``from tests.helpers import ...``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
ARTICLE = ROOT / "corpus" / "article.txt"
DATA = TESTS / "data"
#: CI (``CI=true``, as .ci/run is called) always has ../shared and the pinned packages: a check that
#: would be skipped elsewhere for want of them fails there instead of passing unseen.
IN_CI = os.environ.get("CI", "").lower() == "true"


def article_corpus(base: Path) -> Path:
    """A corpus folder ``base/corpus`` holding a copy of the shipped article; returns it."""
    import shutil

    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / "article.txt")
    return corpus


def article_system(base: Path, encoder, settings=None):
    """A QASystem over a copy of the shipped article in ``base``, indexed (FAISS files in ``base/index``)."""
    from rag.pipeline import QASystem

    qa = QASystem(article_corpus(base), base / "index", settings, encoder=encoder)
    qa.ensure_index()
    return qa


def skip_unless_ci(reason: str) -> None:
    """Skip a test for a missing prerequisite, or fail it under CI, where nothing may be missing.

    Args:
        reason: what is missing.
    """
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this check must run)", pytrace=False)
    pytest.skip(reason)


def query(text: str, history: list[str] | None = None, settings=None):
    """A question analysed as the pipeline would (:class:`rag.query.analyse.QueryAnalyser`, no index vocabulary)."""
    from rag.config import Settings
    from rag.query.analyse import QueryAnalyser

    return QueryAnalyser(settings or Settings()).analyse(text, history)


def load_script(name: str):
    """A script of ``scripts/`` imported as a module (the scripts are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_milvus_server(data_dir: Path, timeout: float = 60.0, port: int | None = None):
    """A real ``milvus-lite server`` process on 127.0.0.1 (a free port, or ``port``: a restart), once it listens.

    Returns:
        ``(process, "milvus://127.0.0.1:PORT")``; the caller terminates the process.
    """
    import socket
    import subprocess
    import sys
    import time

    import importlib.util

    if importlib.util.find_spec("milvus_lite") is None or importlib.util.find_spec("pymilvus") is None:
        skip_unless_ci("the milvus extra is not installed (pip install -e '.[milvus]')")
    port = port or free_port()
    exe = Path(sys.executable).with_name("milvus-lite")
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"milvus://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"milvus-lite server did not listen within {timeout:.0f} s (exit {proc.poll()})")


def stop(proc, grace: float = 10.0) -> None:
    """Terminate a child process, killing it if it does not stop within ``grace`` seconds."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
