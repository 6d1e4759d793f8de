"""Gradio's own client against a real server on 127.0.0.1: one named endpoint, ``/answer``.

The page's events (ask, clear, upload, polling, delete) are private: ``view_api()`` lists only
``/answer``, and ``/answer`` returns exactly the JSON of ``POST /api/ask``.
"""

from __future__ import annotations

import httpx
import pytest

HUBEI = "湖北人工智能产业规模到2025年超过多少?"


@pytest.fixture(scope="module")
def server(article_qa):
    from ui.net import BackgroundServer
    from ui.server import create_app

    with BackgroundServer(create_app(article_qa), host="127.0.0.1", port=0) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=False)


def test_view_api_lists_only_answer(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert list(api["named_endpoints"]) == ["/answer"]
    assert api["unnamed_endpoints"] == {}
    params = [p["parameter_name"] for p in api["named_endpoints"]["/answer"]["parameters"]]
    assert params == ["question", "history", "top_k", "kb"]


def test_answer_equals_post_api_ask(client, server):
    got = client.predict(question=HUBEI, api_name="/answer")
    want = httpx.post(server.url + "api/ask", json={"question": HUBEI}, timeout=60).json()
    assert got == want
    assert got["answer"] == "1500亿元"


def test_answer_takes_history_and_top_k(client, server):
    got = client.predict(question="谁是百度首席技术官?", history=[HUBEI], top_k=2, api_name="/answer")
    want = httpx.post(server.url + "api/ask", json={"question": "谁是百度首席技术官?", "history": [HUBEI],
                                                    "top_k": 2}, timeout=60).json()
    assert got == want and len(got["citations"]) <= 2


def test_empty_question_is_an_error_with_the_api_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="empty"):
        client.predict(question="  ", api_name="/answer")


@pytest.mark.parametrize("name", ["/ask", "/ask_1", "/clear", "/upload", "/poll", "/delete", "/refresh"])
def test_page_events_are_not_callable_by_the_client(client, name):
    with pytest.raises(ValueError):
        client.predict(HUBEI, api_name=name)
