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
