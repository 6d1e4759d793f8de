"""The web front end: ``rag serve`` (registered through the ``rag.commands`` entry point).

Holds: ``server`` (FastAPI app: ``/api/ask``, ``/api/health``, the command), ``app`` (the Gradio
chat), ``render`` (answers as HTML with the quoted span highlighted), ``static/``.

May import: the public API of rag (``rag``, ``rag.pipeline``, ``rag.cli``); rag never imports ui.
"""
