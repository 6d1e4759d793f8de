"""The web chat of ``rag serve``: a Gradio Blocks app (:mod:`ui.app`) and its HTML (:mod:`ui.render`)."""
