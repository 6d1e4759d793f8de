"""The zip-bomb guard for DOCX and EPUB: checked before any parser opens the archive.

A file is refused when its members would inflate beyond ``max_unzipped_mb`` in all, when one
member inflates more than ``max_zip_ratio`` times, or when it holds more than
:data:`MAX_MEMBERS` members. Declared sizes can lie, so :func:`read_member` also stops reading
a member at a byte cap.

>>> import io, zipfile
>>> from rag.config import IngestSettings
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
...     z.writestr("zeros", bytes(5_000_000))
>>> try:
...     check_zip(buf.getvalue(), "x.docx", IngestSettings())
... except DocumentError as exc:
...     print(str(exc).split(" — ")[1][:24])
one member inflates 1026
"""

from __future__ import annotations

import io
import zipfile

from rag.config import IngestSettings
from rag.errors import DocumentError

#: More members than this is refused (a real DOCX or EPUB holds tens to a few thousand).
MAX_MEMBERS = 10_000
#: Members smaller than this are never refused for their ratio (tiny XML parts compress well).
_RATIO_FLOOR = 1 << 20

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError,
               NotImplementedError, ValueError, KeyError)


def open_zip(data: bytes, doc: str) -> zipfile.ZipFile:
    """The archive, or a one-line error when it is not a readable ZIP."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise DocumentError(f"{doc}: not a readable archive (damaged?)", "corrupt") from None


def check_zip(data: bytes, doc: str, settings: IngestSettings) -> None:
    """Refuse an archive that would inflate too much.

    Args:
        data: the archive's bytes.
        doc: the document id (named in errors).
        settings: the limits (``max_unzipped_mb``, ``max_zip_ratio``).

    Raises:
        DocumentError: a damaged archive, too many members, or a zip bomb.
    """
    with open_zip(data, doc) as z:
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DocumentError(f"{doc}: refused — {len(infos)} members in the archive (a zip bomb?)", "corrupt")
        total = sum(i.file_size for i in infos)
        if total > settings.max_unzipped_mb * 1e6:
            raise DocumentError(f"{doc}: refused — its contents would inflate to {total / 1e6:.0f} MB (a zip bomb?)", "corrupt")
        for i in infos:
            if i.file_size > _RATIO_FLOOR and i.file_size > settings.max_zip_ratio * max(i.compress_size, 1):
                ratio = i.file_size / max(i.compress_size, 1)
                raise DocumentError(f"{doc}: refused — one member inflates {ratio:.0f} times (a zip bomb?)", "corrupt")


def read_member(z: zipfile.ZipFile, name: str, doc: str, settings: IngestSettings) -> bytes:
    """One member's bytes, read with a cap whatever its declared size says.

    Args:
        z: the open archive.
        name: the member.
        doc: the document id (named in errors).
        settings: the limits.

    Returns:
        The bytes.

    Raises:
        DocumentError: the member is missing, damaged, or larger than the cap.
    """
    cap = int(settings.max_unzipped_mb * 1e6)
    try:
        with z.open(name) as f:
            data = f.read(cap + 1)
    except KeyError:
        raise DocumentError(f"{doc}: {name} is missing from the archive (damaged?)", "corrupt") from None
    except _ZIP_ERRORS:
        raise DocumentError(f"{doc}: {name} cannot be read from the archive (damaged?)", "corrupt") from None
    if len(data) > cap:
        raise DocumentError(f"{doc}: refused — its contents would inflate beyond {cap / 1e6:.0f} MB (a zip bomb?)", "corrupt")
    return data


__all__ = ["MAX_MEMBERS", "check_zip", "open_zip", "read_member"]
