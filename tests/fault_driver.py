"""A writer or reader for the fault-injection tests, in its own process, with the fake encoder (a
build goes through every real step of the pipeline and the stores, in about a second).

    python -m tests.fault_driver build CORPUS INDEX [STORE]     # print "built N"
    python -m tests.fault_driver ask CORPUS INDEX QUESTION [STORE]   # print the top citation as JSON

Errors are one line on stderr and exit status 2, as ``rag`` gives them.
"""

from __future__ import annotations

import json
import logging
import sys

from rag.config import Settings
from rag.errors import RagError
from rag.pipeline import QASystem
from tests.fakes import HashEncoder

SETTINGS = Settings().with_overrides({"embed.model": "fake-hash", "reader.weights": "off",
                                      "store.lock_wait_s": 5, "store.refresh_seconds": 0})


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="rag: %(message)s")
    mode, corpus, index, *rest = argv
    store = rest[-1] if rest and rest[-1].startswith(("milvus", "faiss")) else None
    settings = SETTINGS.with_overrides({"store.uri": store})
    qa = QASystem(corpus, index, settings, encoder=HashEncoder(floor=0.7))
    try:
        if mode == "build":
            qa.build()
            print("built", len(qa.index.chunks), flush=True)
        else:
            ans = qa.ask(rest[0])
            top = ans.citations[0]
            print(json.dumps({"doc": top.doc, "start": top.start, "end": top.end, "text": top.text},
                             ensure_ascii=False), flush=True)
    except RagError as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
