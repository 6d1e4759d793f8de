"""The command line: ``rag ask|search|index|text|eval|train-reader|serve``."""

from rag.cli.main import main

__all__ = ["main"]
