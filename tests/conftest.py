"""Shared fixtures, and the tier markers. The real model is loaded once per session (it takes seconds).

Tests are in tiers by folder (tests/README.md): ``unit/`` (fakes, fast), ``e2e/`` (the real model and
article), ``regression/`` (the CMRC floor), ``browser/`` (a real Chromium). The folder gives the markers:
``pytest -m "not slow and not browser"`` runs the unit tier and the library's doctests.
"""

from __future__ import annotations

import os

import pytest

from tests.helpers import ARTICLE, TESTS, article_corpus, article_system, start_milvus_server, stop

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

#: The markers each tier folder gives its tests (registered in pyproject.toml).
TIER_MARKERS = {"e2e": ("slow",), "regression": ("slow", "regression"), "browser": ("browser", "slow")}


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by the tier folder it lives in (doctests in ``rag/`` get none: they are fast)."""
    for item in items:
        try:
            tier = item.path.relative_to(TESTS).parts[0]
        except ValueError:
            continue
        for name in TIER_MARKERS.get(tier, ()):
            item.add_marker(name)


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def embedder():
    """The real default embedding model, on the default runtime (``embed.runtime``: ONNX int8), so
    indexes built with it carry the vectors their model id names."""
    from rag.config import Settings
    from rag.embed.factory import make_encoder

    return make_encoder(Settings())


@pytest.fixture(scope="session")
def article_qa(tmp_path_factory, embedder):
    """A QASystem over a copy of the shipped article, with the real model, indexed once."""
    return article_system(tmp_path_factory.mktemp("article"), embedder)


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory):
    """A real ``milvus-lite server`` on 127.0.0.1 for the session: ``milvus://127.0.0.1:PORT``."""
    proc, uri = start_milvus_server(tmp_path_factory.mktemp("milvus-server"))
    yield uri
    stop(proc)


@pytest.fixture(scope="session", params=["faiss", "milvus"])
def store_qa(request, tmp_path_factory, article_qa, embedder):
    """The article indexed in each store: FAISS files (``article_qa``), then a Milvus server; the
    tests that take it run on both and must give the same answers at the same offsets."""
    if request.param == "faiss":
        return article_qa
    from rag.config import Settings
    from rag.pipeline import QASystem

    uri = request.getfixturevalue("milvus_uri")
    base = tmp_path_factory.mktemp("article-milvus")
    settings = Settings.from_env().with_overrides({"store.uri": uri, "store.kb": "article"})
    qa = QASystem(article_corpus(base), base / "unused-index", settings, encoder=embedder)
    qa.build()
    return qa
