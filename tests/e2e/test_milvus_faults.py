"""A Milvus server that dies mid-query or mid-build (issue #21), a real ``milvus-lite server``
process killed with SIGKILL: questions answered from memory fail in one line rather than hang,
a build in flight fails in one line naming the store, the alias still names the previous
generation once the server is back, and the next build repairs.

Builds and questions run in their own processes (``tests/fault_driver.py``, the fake encoder).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from tests.e2e.test_faults import QUESTION, _driver, _write_corpus  # noqa: E402
from tests.helpers import ROOT, start_milvus_server, stop  # noqa: E402


def _port(uri: str) -> int:
    return int(uri.rsplit(":", 1)[1])


def test_a_milvus_server_dying_mid_query_and_mid_build(tmp_path):
    corpus, index, data = tmp_path / "corpus", tmp_path / "index", tmp_path / "milvus"
    _write_corpus(corpus, "v01", docs=4, paragraphs=3)
    proc, uri = start_milvus_server(data)
    try:
        r = _driver("build", str(corpus), str(index), uri)
        assert r.returncode == 0, r.stderr
        r = _driver("ask", str(corpus), str(index), QUESTION, uri)
        assert r.returncode == 0 and "v01" in json.loads(r.stdout)["text"]

        # mid-query: the server is gone; a question fails in one line, quickly, naming the store
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t0 = time.monotonic()
        r = _driver("ask", str(corpus), str(index), QUESTION, uri)
        assert r.returncode == 2 and time.monotonic() - t0 < 60
        assert r.stderr.strip().splitlines()[-1].startswith(f"rag: cannot reach Milvus at {uri}")
        assert "Traceback" not in r.stderr

        # back on the same port and data: the same answers
        proc, _ = start_milvus_server(data, port=_port(uri))
        r = _driver("ask", str(corpus), str(index), QUESTION, uri)
        assert r.returncode == 0 and "v01" in json.loads(r.stdout)["text"], r.stderr

        # mid-build: the server dies once the new generation's collection appears, while it is written
        from pymilvus import MilvusClient

        _write_corpus(corpus, "v02", docs=120, paragraphs=12)
        client = MilvusClient(uri=uri.replace("milvus://", "http://"))
        known = set(client.list_collections())
        build = subprocess.Popen([sys.executable, "-m", "tests.fault_driver", "build", str(corpus), str(index), uri],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while build.poll() is None and time.monotonic() < deadline:
            if set(client.list_collections()) - known:
                break
            time.sleep(0.02)
        client.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        out, err = build.communicate(timeout=120)
        assert build.returncode == 2, f"the build was not cut off (exit {build.returncode}): {out} {err}"
        assert err.strip().splitlines()[-1].startswith("rag: "), err
        assert "Traceback" not in err
        proc, _ = start_milvus_server(data, port=_port(uri))
        r = _driver("ask", str(corpus), str(index), QUESTION, uri)
        assert r.returncode == 0 and "v01" in json.loads(r.stdout)["text"], r.stderr   # the alias did not move
        r = _driver("build", str(corpus), str(index), uri)
        assert r.returncode == 0, r.stderr
        r = _driver("ask", str(corpus), str(index), QUESTION, uri)
        assert r.returncode == 0 and "v02" in json.loads(r.stdout)["text"]
    finally:
        stop(proc)
