"""What the reader learns from (issue #18): CMRC 2018 train less its selection set, never CMRC dev.

The training part of CMRC train is ``cmrc-train`` and the selection set ``cmrc-select``, both cut by
the one rule of :func:`rag.bench.squad.split_paragraphs`; these tests hold training to it, on a toy
bench directory always and on the real files where ``../shared/bench`` is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.bench.squad import load_named, resolve
from rag.text.folding import fold_aligned
from rag.training.data import _answer_offsets, read_examples, split_examples
from rag.training.train import TrainConfig, training_examples
from tests.helpers import skip_unless_ci

CMRC = TrainConfig(sets=("cmrc-train", "drcd", "xquad"), select="cmrc-select")


def _squad(paragraphs: list[tuple[str, str, str, str]]) -> dict:
    """A SQuAD file of one article per (paragraph id, title, context, answer) with one question each."""
    return {"data": [{"title": title, "paragraphs": [{"id": pid, "context": ctx, "qas": [
        {"id": f"{pid}-q", "question": "首都是哪里?", "answers": [{"text": ans, "answer_start": ctx.find(ans)}]}]}]}
        for pid, title, ctx, ans in paragraphs]}


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    """A toy bench directory: CMRC train (400 paragraphs), CMRC dev, DRCD and XQuAD stand-ins."""
    files = {
        "cmrc2018/cmrc2018_train.json": [(f"TRAIN_{i}", f"t{i}", f"第{i}段：北京是首都。", "北京") for i in range(400)],
        "cmrc2018/cmrc2018_dev.json": [(f"DEV_{i}", f"d{i}", f"测{i}段：上海很大。", "上海") for i in range(20)],
        "drcd/DRCD_dev.json": [(f"D{i}", f"a{i}", f"台{i}：臺北是首都。", "臺北") for i in range(100)],
        "xquad_zh/xquad.zh.json": [(f"X{i}", f"x{i}", f"甲{i}：东京是首都。", "东京") for i in range(20)],
    }
    for rel, paras in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(json.dumps(_squad(paras), ensure_ascii=False), encoding="utf-8")
    return tmp_path


def test_cmrc_training_examples_are_exactly_the_cmrc_train_part(bench):
    train, dev = training_examples(CMRC, bench)
    cmrc = {ex.qid for ex in train if ex.qid.startswith("TRAIN_")}
    part = {q.qid for q in load_named("cmrc-train", bench).questions}
    select = {q.qid for q in load_named("cmrc-select", bench).questions}
    assert select and cmrc == part and not cmrc & select
    assert {ex.qid for ex in dev} == select                  # epochs are scored on the selection set
    assert not any(ex.qid.startswith("DEV_") for ex in train + dev)
    # the held-out DRCD articles stay unseen (other selection scripts score on them)
    default_train, default_dev = training_examples(TrainConfig(), bench)
    assert {ex.qid for ex in train} - cmrc == {ex.qid for ex in default_train}
    assert not {ex.qid for ex in default_dev} & {ex.qid for ex in train}


@pytest.mark.parametrize("sets", [("cmrc",), ("cmrc-select",), ("cmrc2018/cmrc2018_dev.json",),
                                  ("cmrc2018/cmrc2018_train.json",), ("drcd", "cmrc")])
def test_cmrc_dev_the_selection_set_and_the_whole_train_file_are_refused(bench, sets):
    with pytest.raises(ValueError):
        training_examples(TrainConfig(sets=sets), bench)


def test_cli_names_cmrc_train_when_refusing_cmrc(capsys):
    from rag.cli import commands as cli

    assert cli.main(["train-reader", "--out", "/nonexistent/x", "--sets", "cmrc,drcd"]) == 2
    assert "cmrc-train" in capsys.readouterr().err
    assert cli.main(["train-reader", "--out", "/nonexistent/x", "--sets", "cmrc-select"]) == 2


def test_an_answers_leading_space_does_not_send_it_to_an_earlier_occurrence():
    context = "北京大学在 北京"
    assert _answer_offsets(context, " 北京", 5) == (6, 8)     # answer_start counts the space
    assert _answer_offsets(context, "北京 ", 6) == (6, 8)
    assert _answer_offsets(context, "北京", 99) == (0, 2)     # a wrong start: the first occurrence


def test_cmrc_train_on_disk_never_reaches_the_selection_set_or_dev_and_its_offsets_hold():
    path = resolve("cmrc-train")
    if not path.is_file() or not resolve("cmrc").is_file():
        skip_unless_ci(f"CMRC 2018 train or dev not found under {path.parent} (shared bench data missing)")
    train = split_examples("cmrc-train")
    select = split_examples("cmrc-select")
    part = load_named("cmrc-train")
    assert len(train) == len(part.questions) > 9000 and 400 < len(select) < 700
    assert not {ex.qid for ex in train} & {ex.qid for ex in select}
    assert not {ex.context for ex in train} & {ex.context for ex in select}
    # nothing of CMRC dev: neither its ids nor its paragraphs (only ids and contexts are read)
    dev = json.loads(resolve("cmrc").read_text(encoding="utf-8"))
    dev_ids = {str(qa["id"]) for a in dev["data"] for p in a["paragraphs"] for qa in p["qas"]}
    dev_contexts = {fold_aligned(p["context"]) for a in dev["data"] for p in a["paragraphs"]}
    assert not {ex.qid for ex in train} & dev_ids and not {ex.context for ex in train} & dev_contexts
    # every offset is the file's answer_start (past any leading space) and spans the answer text
    raw = json.loads(path.read_text(encoding="utf-8"))
    gold = {str(qa["id"]): (p["context"], qa["answers"][0]) for a in raw["data"] for p in a["paragraphs"]
            for qa in p["qas"]}
    for ex in train + select:
        context, ans = gold[ex.qid]
        lead = len(ans["text"]) - len(ans["text"].lstrip())
        assert (ex.start, context[ex.start:ex.end]) == (ans["answer_start"] + lead, ans["text"].strip()), ex.qid
        assert ex.context[ex.start:ex.end] == fold_aligned(ans["text"].strip())


def test_the_default_recipe_reads_the_same_examples_as_before(bench):
    """drcd,xquad with the held-out articles: what the shipped weights were trained and selected on."""
    from rag.training.data import split

    examples = read_examples(bench / "drcd/DRCD_dev.json") + read_examples(bench / "xquad_zh/xquad.zh.json")
    assert training_examples(TrainConfig(), bench) == split(examples, TrainConfig().dev_share)


def test_cli_scores_epochs_on_cmrc_select_when_it_trains_on_cmrc_train(monkeypatch, tmp_path):
    import rag.training.train as training
    from rag.cli import commands as cli

    seen = []
    monkeypatch.setattr(training, "train", lambda cfg, out, **kw: seen.append(cfg) or Path(out) / "reader.safetensors")
    for sets, extra in (("cmrc-train,drcd,xquad", []), ("drcd,xquad", []), ("cmrc-train", ["--select", "articles"])):
        assert cli.main(["train-reader", "--out", str(tmp_path / "r"), "--sets", sets, *extra]) == 0
    assert [c.select for c in seen] == ["cmrc-select", "articles", "articles"]
    assert seen[0].sets == ("cmrc-train", "drcd", "xquad") and seen[1] == TrainConfig()


def test_a_set_can_be_weighted_up_or_down_in_an_epoch() -> None:
    from rag.training.data import Example, set_share, take_share

    assert set_share("cmrc-train") == ("cmrc-train", 1.0)
    assert set_share("drcd*3") == ("drcd", 3.0)
    for bad in ("drcd*0", "drcd*-1", "drcd*1.5", "drcd*x"):
        with pytest.raises(ValueError, match="drcd"):
            set_share(bad)
    exs = [Example(f"q{i}", "?", "甲乙", 0, 1, "t") for i in range(2000)]
    half = take_share(exs, 0.5)
    assert 900 < len(half) < 1100
    assert take_share(exs, 0.5) == half  # the same questions every time, whatever the seed
    assert take_share(exs, 2.0) == exs + exs
