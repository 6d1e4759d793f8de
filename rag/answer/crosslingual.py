"""Questions without Chinese characters (English) over Chinese documents.

The keyword side and the Chinese answer rules (question words, alignment of
the question's words with the sentence) see nothing in an English question.
What still works:

* **dense retrieval**: multilingual-e5 embeds ``How large should Hubei's AI
  industry be by 2025?`` near the Chinese passage;
* **names by their pinyin**: a capitalised word that spells the pinyin of an
  indexed Chinese term (``Hubei`` → 湖北, ``Baidu`` → 百度, ``Ningxia`` → 宁夏)
  becomes a keyword query, so the BM25 side finds the passages that name it;
* **the answer**: the sentences of the top passages are embedded and ranked
  against the question (plus a bonus for the names found); the English
  question word fixes the answer type (how many → number, when → date, who →
  person, …) and the typed span is taken from the clause of the best sentence
  that is closest to the question. Without a type, or when the sentence holds
  none, the answer is the whole sentence.

Offsets are into the document's original text, as everywhere.

"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.answer.clauses import trim
from rag.answer.rules import cite_first
from rag.answer.scoring import ScoredSentence, top_sentences
from rag.answer.typed import DATE_RE, FIGURE, LIST_RE, NUMBER_RE, TITLE_RE
from rag.config import Settings
from rag.embed.protocol import Encoder
from rag.query.types import Query
from rag.text.lexicon import CLAUSE_MARKS, ORG_SUFFIX
from rag.text.tokens import words_with_pos
from rag.types import Answer, Citation, Passage, Span, Trace

log = logging.getLogger(__name__)

#: Sentence and clause vectors kept between questions (texts of the corpus recur).
VECTOR_CACHE = 20_000
#: The confidence of a cross-lingual answer is a logistic of these (:meth:`CrossLingualAnswerer._confidence`):
#: e5's cosine between an English question and a Chinese sentence that answers it lies around 0.80–0.84,
#: unrelated sentences score 0.72–0.77.
COSINE_CENTER = 0.79          # the cosine that is even odds
COSINE_SLOPE = 40.0           # log-odds per unit of cosine above the centre
MARGIN_SLOPE = 30.0           # log-odds per unit of lead over the second-best sentence
LONE_MARGIN = 0.01            # the lead of a sentence that has no second
NAME_HIT_ODDS = 0.8           # log-odds per question name found in the answer's passage
TYPED_ODDS, UNTYPED_ODDS = 0.8, -0.5  # log-odds when the answer type was found / was not

_CLAUSE = re.compile(f"[^{re.escape(CLAUSE_MARKS)}]+")
_ORG = re.compile(r"[\u4e00-\u9fff]{2,14}?" + ORG_SUFFIX.pattern)
_YEARS = re.compile(r"\d{4}(?:(?:—|-|~|～|至|到)\d{4})?年?")


def _number_spans(sent: str, question: str) -> list[tuple[int, int]]:
    """Figures of ``sent`` that are not the question's own (2025 of "by 2025") nor years, units first."""
    q_digits = set(re.findall(r"\d+", question))
    spans = []
    for m in NUMBER_RE.finditer(sent):
        g = m.group()
        if not FIGURE.search(g):
            continue
        digits = re.findall(r"\d+", g)
        if digits and all(d in q_digits for d in digits):
            continue  # 2025 of "by 2025" is not the answer
        if _YEARS.fullmatch(g) and "year" not in question.lower():
            continue  # a year (or a span of years) is a date, not an amount
        spans.append(m.span())

    # digits with a unit (11条, 1500亿元) before bare numbers and numerals (四)
    def rank(sp: tuple[int, int]) -> tuple[bool, bool, int]:
        g = sent[sp[0]:sp[1]]
        digits = bool(re.search(r"\d", g))
        return (not (digits and re.search(r"[^\d.,—\-~～]", g)), not digits, sp[0])
    return sorted(spans, key=rank)


def _name_spans(qtype: str, sent: str) -> list[tuple[int, int]]:
    """People (``nr``, surname and given name joined), places (``ns``) or organisations (``nt`` and
    names by their suffix) in ``sent``."""
    spans, pos = [], 0
    words = words_with_pos(sent)
    for n, (w, flag) in enumerate(words):
        end = pos + len(w)
        if qtype == "person" and flag == "nr":
            if len(w) == 1 and n + 1 < len(words) and 1 <= len(words[n + 1][0]) <= 2:
                end += len(words[n + 1][0])
            if end - pos >= 2:
                spans.append((pos, end))
        elif qtype == "place" and flag == "ns":
            spans.append((pos, end))
        elif qtype == "org" and flag == "nt":
            spans.append((pos, end))
        pos += len(w)
    if qtype == "org":
        spans += [m.span() for m in _ORG.finditer(sent)]
    return sorted(set(spans))


def _typed_spans(qtype: str, sent: str, question: str) -> list[tuple[int, int]]:
    """Spans of ``sent`` of the expected type, best first."""
    if qtype == "number":
        return _number_spans(sent, question)
    if qtype == "date":
        return [m.span() for m in DATE_RE.finditer(sent)]
    if qtype == "title":
        return [m.span() for m in TITLE_RE.finditer(sent)]
    if qtype == "list":
        return [m.span() for m in LIST_RE.finditer(sent)]
    if qtype in ("person", "place", "org"):
        return _name_spans(qtype, sent)
    return []


def respective(sent: str, spans: Sequence[tuple[int, int]], pick: tuple[int, int],
               names: Sequence[str]) -> tuple[int, int]:
    """In parallel lists (成都、宁夏…发放1000万元、4000万元), the value that goes with the name asked about.

    Args:
        sent: the sentence.
        spans: the typed spans of the sentence, in order.
        pick: the span chosen so far.
        names: the names of the question (Chinese).

    Returns:
        The span at the same place in its 、-list as the question's name in a list of as many
        names; ``pick`` when there is no such pair of lists.

    >>> s = "成都、宁夏等地将发放不超过1000万元、4000万元的算力券。"
    >>> spans = [m.span() for m in NUMBER_RE.finditer(s)]
    >>> s[slice(*respective(s, spans, spans[0], ["宁夏"]))]
    '4000万元'
    """
    runs: list[list[tuple[int, int]]] = []
    for sp in sorted(spans):
        if runs and sent[runs[-1][-1][1]:sp[0]] in ("、", "和", "与", "及"):
            runs[-1].append(sp)
        else:
            runs.append([sp])
    run = next((r for r in runs if pick in r), None)
    if run is None or len(run) < 2 or not names:
        return pick
    for m in re.finditer(r"[\u4e00-\u9fff]{1,8}(?:、[\u4e00-\u9fff]{1,8})+", sent[:run[0][0]]):
        items = m.group().split("、")
        if len(items) != len(run):
            continue
        for j, item in enumerate(items):
            if any(n in item for n in names) and not any(n in items[0] for n in names if j):
                return run[j]
    return pick


class CrossLingualAnswerer:
    """Answers a question written without Chinese characters from retrieved Chinese passages."""

    def __init__(self, encoder: Encoder, settings: Settings | None = None):
        self.encoder = encoder
        self.settings = settings or Settings()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _passage_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Passage embeddings of ``texts``, from the cache where possible."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vecs = np.asarray(self.encoder.encode_passages(missing), dtype=np.float32)
            with self._lock:
                for t, v in zip(missing, vecs):
                    self._vectors[t] = v
                while len(self._vectors) > VECTOR_CACHE:
                    self._vectors.popitem(last=False)
                found = {t: self._vectors[t] for t in texts if t in self._vectors}
            found.update(zip(missing, vecs))
        else:
            with self._lock:
                found = {t: self._vectors[t] for t in texts}
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)

    def answer(self, query: Query, passages: Sequence[Passage], top_k: int | None = None) -> Answer:
        """Answer from the passages: best sentence by embedding, then its typed span.

        Args:
            query: the analysed question (``text``, ``names`` and ``answer_type`` are read).
            passages: retrieved passages, best first.
            top_k: how many passages to cite (default: all given).

        Returns:
            The answer; ``answer`` None when the evidence is too weak.
        """
        citations_src = list(passages[:top_k] if top_k else passages)
        question, names = query.text, list(query.names)
        sents = list(top_sentences(passages[:self.settings.answer.passages], self.settings.chunk.max_sentence_chars))
        if not sents:
            return Answer(question, None, 0.0, None, tuple(Citation.from_passage(p) for p in citations_src))
        qv = np.asarray(self.encoder.encode_queries([question])[0], dtype=np.float32)
        scored = self._scored(sents, qv, names)
        best, span = self._best_span(question, qv, query.answer_type, scored, names)
        whole = trim(best.text, 0, len(best.text))
        if span is None:
            span = whole
        conf = self._confidence(best, scored, names, typed=query.answer_type != "what" and span != whole)
        citations = cite_first(best.passage, citations_src)
        trace = Trace(picked="crosslingual", names=tuple(names))
        if conf < self.settings.answer.min_confidence:
            return Answer(question, None, round(conf, 4), None, citations,
                          withheld=best.text[span[0]:span[1]], trace=trace)
        doc = best.passage.chunk.doc
        return Answer(question=question, answer=best.text[span[0]:span[1]], confidence=round(conf, 4),
                      answer_span=Span(doc, best.start + span[0], best.start + span[1]), citations=citations,
                      sentence_span=Span(doc, best.start, best.end), cited_rank=1, trace=trace)

    def _scored(self, sents: Sequence[tuple[Passage, int, int, str]], qv: np.ndarray,
                names: Sequence[str]) -> list[ScoredSentence]:
        """The sentences by their cosine with the question, plus bonuses for the question's names
        and the passage's rank; best first."""
        s = self.settings.answer
        cos = self._passage_vectors([t for _, _, _, t in sents]) @ qv
        scored = [ScoredSentence(p, a, b, t, float(cos[i]) + s.crosslingual_name_bonus * sum(n in t for n in names)
                                 + s.crosslingual_rank_bonus / p.rank)
                  for i, (p, a, b, t) in enumerate(sents)]
        return sorted(scored, key=lambda x: -x.score)

    def _best_span(self, question: str, qv: np.ndarray, qtype: str, scored: Sequence[ScoredSentence],
                   names: Sequence[str]) -> tuple[ScoredSentence, tuple[int, int] | None]:
        """The first of the best sentences (within ``crosslingual_window`` of the best) that holds a
        typed span, and that span; else the best sentence and None."""
        s = self.settings.answer
        for sent in scored[:s.sentences_tried]:
            if sent.score < scored[0].score - s.crosslingual_window:
                break
            span = self._typed_span(question, qv, qtype, sent.text, names)
            if span is not None:
                return sent, span
        return scored[0], None

    def _typed_span(self, question: str, qv: np.ndarray, qtype: str, sent: str,
                    names: Sequence[str]) -> tuple[int, int] | None:
        """The typed span in the clause of ``sent`` closest to the question, or None."""
        spans = [sp for sp in _typed_spans(qtype, sent, question) if sent[sp[0]:sp[1]] not in names]
        if not spans:
            return None
        clauses = [m.span() for m in _CLAUSE.finditer(sent)]
        holding = [c for c in clauses if any(c[0] <= sp[0] and sp[1] <= c[1] for sp in spans)]
        if len(holding) > 1:
            bonus = self.settings.answer.crosslingual_name_bonus
            cv = self._passage_vectors([sent[a:b] for a, b in holding])
            sc = cv @ qv + np.array([bonus * sum(n in sent[a:b] for n in names) for a, b in holding])
            clause = holding[int(np.argmax(sc))]
        else:
            clause = holding[0] if holding else (0, len(sent))
        inside = [sp for sp in spans if clause[0] <= sp[0] and sp[1] <= clause[1]] or spans
        s0, s1 = trim(sent, *respective(sent, spans, inside[0], names))
        return (s0, s1) if s1 > s0 else None

    @staticmethod
    def _confidence(best: ScoredSentence, scored: Sequence[ScoredSentence], names: Sequence[str],
                    typed: bool) -> float:
        """Evidence for the chosen sentence, squashed into [0, 1] (see :data:`COSINE_CENTER`)."""
        margin = best.score - (scored[1].score if len(scored) > 1 else best.score - LONE_MARGIN)
        hits = sum(1 for n in names if n in best.passage.chunk.text)
        z = COSINE_SLOPE * (best.score - COSINE_CENTER) + MARGIN_SLOPE * margin + NAME_HIT_ODDS * hits \
            + (TYPED_ODDS if typed else UNTYPED_ODDS)
        return 1.0 / (1.0 + math.exp(-z))
