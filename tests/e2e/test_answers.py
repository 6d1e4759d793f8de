"""The article declines what it does not state, end to end with the real model.

The rules alone: ``tests/unit/test_answers.py``.
"""

import pytest


# 火星基地…: made up; the int8 reader of exporter version 3 (one activation scale per batch) answered 年初
@pytest.mark.parametrize("question", ["深圳将发放多少算力券?", "上海的算力券每年发放总额是多少?", "火星基地什么时候建成?"])
def test_the_article_declines_a_quota_it_does_not_state(article_qa, question):
    ans = article_qa.ask(question)
    assert ans.answer is None and ans.citations
