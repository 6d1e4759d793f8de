"""Every shipped reader weights file travels with its licence and the credit for its training data."""

from __future__ import annotations

import json

from rag.reader import WEIGHTS_DIR
from rag.training.data import set_share

#: Training set name (as written in a file's metadata) → the words its credit must contain.
CREDITS = {
    "drcd": ("DRCD", "CC BY-SA 3.0"),
    "xquad": ("XQuAD", "CC BY-SA 4.0"),
    "cmrc-train": ("CMRC 2018", "Cui et al.", "CC BY-SA 4.0"),
}


def _sets(path) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        meta = json.loads(f.metadata()["rag_reader"])
    # a set weighted in its run ("drcd*2") is credited under its name
    return [set_share(spec)[0] for spec in meta["config"]["sets"]]


def test_the_licence_text_is_beside_the_weights() -> None:
    text = (WEIGHTS_DIR / "LICENCE").read_text(encoding="utf-8")
    assert text.startswith("Attribution-ShareAlike 4.0 International")
    assert "Section 3 -- License Conditions." in text


def test_every_weights_file_is_named_and_its_data_credited() -> None:
    readme = (WEIGHTS_DIR / "README.md").read_text(encoding="utf-8")
    files = sorted(WEIGHTS_DIR.glob("*.safetensors"))
    assert files
    for path in files:
        assert f"`{path.name}`" in readme, f"{path.name} is not described in weights/README.md"
        for name in _sets(path):
            assert name in CREDITS, f"{path.name}: no credit known for training set {name!r}"
            for words in CREDITS[name]:
                assert words in readme, f"{path.name}: the credit for {name} lacks {words!r}"


def test_the_main_readme_names_the_weights_licence() -> None:
    readme = (WEIGHTS_DIR.parents[2] / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in readme and "rag/reader/weights/LICENCE" in readme
