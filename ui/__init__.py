"""The web front end: ``rag serve`` (registered through the ``rag.commands`` entry point).

Holds: ``server`` (FastAPI app: ``/api/ask``, ``/api/health``, the command), ``documents``
(``/api/documents``, ``/api/jobs``, page images, the viewer ``/view/{doc}``), ``app`` (the Gradio
chat and its documents panel, and the one Gradio API endpoint ``/answer``), ``render`` (answers as
HTML with the quoted span highlighted), ``urls`` (viewer and page-image URLs), ``static/``.

May import: the public API of rag (``rag``, ``rag.pipeline``, ``rag.library``, ``rag.types``, ``rag.errors``,
``rag.cli``); rag never imports ui.
"""
