"""The command line: ``rag index|ask|search|eval|train-reader`` (and ``serve`` from ui/).

Holds: ``main`` (parsing, the commands, one-line errors), ``display`` (answers and passages as text).
Commands of other packages are found through the ``rag.commands`` entry points, so the core never
imports the web UI.

May import: every stage of rag. Not ui.
"""

from rag.cli.commands import main

__all__ = ["main"]
