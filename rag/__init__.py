"""rag: offline Chinese document question answering with verbatim, cited answers.

Data flow, one module each: documents → sentences → chunking → (tokenization,
bm25, dense, store, indexer) → retrieval → (question, extraction, answering)
→ pipeline → cli / ui.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
