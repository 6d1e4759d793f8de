"""The ``rag`` command's errors for a missing or empty corpus (no model needed).

The command end to end on the article: ``tests/e2e/test_cli.py``.
"""

from rag.cli.commands import main


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_and_empty_corpus(tmp_path, capsys):
    code, _, err = run(["ask", "问题?", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")], capsys)
    assert code == 2 and "not found" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(["index", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i")], capsys)
    assert code == 2 and "no readable" in err
