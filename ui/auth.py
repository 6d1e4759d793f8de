"""Who may use ``rag serve``: access tokens, their scopes and knowledge bases (issue #21).

* A server bound to a loopback address is open to whoever reaches it, unless tokens are configured.
  On any other address it refuses to start without them (:func:`access_for`).
* A token is presented as ``Authorization: Bearer <token>`` (the API), or typed once into the
  login page (the chat), which sets a signed, HttpOnly session cookie.
* Each token has scopes (:class:`Scope`: ``read`` asks and reads documents, ``write`` uploads and
  deletes) and, optionally, the knowledge bases it may touch.
* Tokens live in a JSON file as SHA-256 digests (``rag token add`` prints a new one once), or one
  full-access token comes from ``--auth-token`` / ``RAG_AUTH_TOKEN``. Comparisons are constant-time.

>>> access = AccessControl([TokenEntry.of("hr-reader", "s3cret-token-value", {Scope.READ}, {"hr"})])
>>> p = access.check_token("s3cret-token-value")
>>> p.name, p.may(Scope.READ, "hr"), p.may(Scope.WRITE, "hr"), p.may(Scope.READ, "default")
('hr-reader', True, False, False)
>>> access.check_token("wrong") is None
True
>>> access.from_cookie(access.session_cookie(p)) == p
True
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rag.choices import Choice
from rag.config import check_kb_name
from rag.errors import RagError, SettingsError

log = logging.getLogger(__name__)

#: The session cookie of the chat page.
COOKIE = "rag_session"
#: Addresses that stay open without a token.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: A token made by ``rag token add``: 32 random bytes, URL-safe.
TOKEN_BYTES = 32
#: A token's name: it is shown in logs and carried in the session cookie.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,48}")
#: A typed token shorter than this is refused (``--auth-token`` too): guessable.
MIN_TOKEN_CHARS = 16


class Scope(Choice):
    """What a token may do: ``read`` (ask, list and read documents) or ``write`` (upload, delete)."""

    READ = "read"
    WRITE = "write"


class AccessError(RagError):
    """A request its token does not allow (HTTP 401 without a valid token, 403 with one)."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a token's name, its scopes and knowledge bases (None: every one)."""

    name: str
    scopes: frozenset[Scope]
    kbs: frozenset[str] | None = None

    def may(self, scope: Scope, kb: str) -> bool:
        """Whether this principal may do ``scope`` on knowledge base ``kb``."""
        return scope in self.scopes and (self.kbs is None or kb in self.kbs)

    def require(self, scope: Scope, kb: str) -> None:
        """Raise :class:`AccessError` (403, one line) unless :meth:`may`."""
        if scope not in self.scopes:
            raise AccessError(f"令牌 {self.name!r} 没有 {scope.value} 权限 / token {self.name!r} lacks the "
                              f"{scope.value} scope")
        if self.kbs is not None and kb not in self.kbs:
            raise AccessError(f"令牌 {self.name!r} 不能访问知识库 {kb!r} / token {self.name!r} may not use "
                              f"knowledge base {kb!r}")


#: Whoever reaches a loopback server that has no tokens configured.
LOCAL = Principal("local", frozenset(Scope))


@dataclass(frozen=True)
class TokenEntry:
    """One token as stored: its name, SHA-256 digest (hex), scopes and knowledge bases."""

    name: str
    digest: str
    scopes: frozenset[Scope]
    kbs: frozenset[str] | None = None

    @classmethod
    def of(cls, name: str, token: str, scopes: Iterable[Scope] = (Scope.READ,),
           kbs: Iterable[str] | None = None) -> "TokenEntry":
        """The entry of a plain token (its digest is what is kept)."""
        return cls(name, _digest(token), frozenset(scopes), None if kbs is None else frozenset(kbs))

    @property
    def principal(self) -> Principal:
        """The principal a request with this token acts as."""
        return Principal(self.name, self.scopes, self.kbs)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"name": self.name, "sha256": self.digest, "scopes": sorted(s.value for s in self.scopes),
                "kbs": None if self.kbs is None else sorted(self.kbs)}

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> "TokenEntry":
        """Read one stored entry.

        Raises:
            SettingsError: a malformed entry.
        """
        try:
            name, digest = str(item["name"]), str(item["sha256"]).lower()
            scopes = frozenset(Scope.from_str(s) for s in item.get("scopes") or ["read"])
            kbs = item.get("kbs")
            kbs = None if kbs is None else frozenset(check_kb_name(k) for k in kbs)
        except (KeyError, TypeError, AttributeError):
            raise SettingsError("a token entry needs a name and a sha256 digest") from None
        if not _NAME.fullmatch(name):
            raise SettingsError(f"token name {name!r}: use 1-48 letters, digits, _ or -")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise SettingsError(f"token {name!r}: sha256 must be 64 hex digits")
        return cls(name, digest, scopes, kbs)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- the token file ---------------------------------------------------------------------------

def load_tokens(path: str | Path) -> list[TokenEntry]:
    """The entries of a token file (``{"tokens": [...]}``).

    Raises:
        SettingsError: the file is missing, not JSON, or has a malformed entry or a repeated name.
    """
    path = Path(path)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        items = body["tokens"]
    except FileNotFoundError:
        raise SettingsError(f"token file {path} does not exist (create one with: rag token add NAME --file {path})") \
            from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SettingsError(f"token file {path} is not a token list: {exc}") from None
    entries = [TokenEntry.from_json(item) for item in items]
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise SettingsError(f"token file {path}: a name appears twice")
    return entries


def save_tokens(path: str | Path, entries: Iterable[TokenEntry]) -> None:
    """Write the token file atomically, readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"tokens": [e.to_json() for e in entries]}, f, ensure_ascii=False, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --- checking requests -----------------------------------------------------------------------

class AccessControl:
    """Checks tokens and session cookies against the configured entries.

    With no entries the control is *open*: every request acts as :data:`LOCAL`.
    """

    def __init__(self, entries: Iterable[TokenEntry] = (), secret: bytes | None = None,
                 session_seconds: float = 12 * 3600):
        self.entries = tuple(entries)
        self.secret = secret or secrets.token_bytes(32)
        self.session_seconds = session_seconds

    @property
    def required(self) -> bool:
        """Whether requests must carry a token."""
        return bool(self.entries)

    def check_token(self, token: str | None) -> Principal | None:
        """The principal of a token, or None. Every entry is compared, in constant time."""
        if not token:
            return None
        digest = _digest(token).encode()
        found = None
        for entry in self.entries:
            if hmac.compare_digest(digest, entry.digest.encode()):
                found = entry
        return None if found is None else found.principal

    def _mac(self, entry: TokenEntry, expires: int) -> str:
        # the token's digest is in the message: a token removed or replaced ends its sessions
        msg = f"{entry.name}|{expires}|{entry.digest}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def session_cookie(self, principal: Principal, now: float | None = None) -> str:
        """The cookie value that stands for ``principal`` until the session ends."""
        entry = next(e for e in self.entries if e.name == principal.name)
        expires = int((time.time() if now is None else now) + self.session_seconds)
        return f"{entry.name}.{expires}.{self._mac(entry, expires)}"

    def from_cookie(self, value: str | None, now: float | None = None) -> Principal | None:
        """The principal of a session cookie, or None if it is forged, expired or its token is gone."""
        if not value:
            return None
        parts = value.rsplit(".", 2)
        if len(parts) != 3:
            return None
        owner, expires, mac = parts
        if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
            return None
        for entry in self.entries:
            if entry.name == owner and hmac.compare_digest(self._mac(entry, int(expires)), mac):
                return entry.principal
        return None

    def authenticate(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Principal | None:
        """Who a request is from: the bearer token, else the session cookie; :data:`LOCAL` when open.

        Args:
            headers: the request's headers (lower-case names).
            cookies: its cookies.

        Returns:
            The principal, or None when the request carries no valid credential.
        """
        if not self.required:
            return LOCAL
        auth = headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.check_token(token.strip())
        return self.from_cookie(cookies.get(COOKIE))

    def of_gradio(self, request: Any) -> Principal | None:
        """:meth:`authenticate` for a ``gr.Request`` (live or rebuilt by the queue)."""
        if request is None:
            return None if self.required else LOCAL
        headers = getattr(request, "headers", None) or {}
        cookies = getattr(request, "cookies", None) or {}
        return self.authenticate(_lower(headers), cookies)


def _lower(headers: Any) -> dict[str, str]:
    try:
        items = headers.items()
    except AttributeError:
        items = dict(headers).items()
    return {str(k).lower(): str(v) for k, v in items}


def access_for(settings: Any, host: str) -> AccessControl:
    """The access control ``rag serve`` runs with.

    Args:
        settings: the :class:`rag.config.Settings` (``serve.auth_token``, ``serve.auth_file``, ...).
        host: the address the server binds.

    Returns:
        The control (open on loopback without tokens).

    Raises:
        SettingsError: a non-loopback address without any token, a short token, a bad token file.
    """
    s = settings.serve
    entries: list[TokenEntry] = []
    if s.auth_file:
        entries += load_tokens(s.auth_file)
    if s.auth_token:
        if len(s.auth_token) < MIN_TOKEN_CHARS:
            raise SettingsError(f"--auth-token must be at least {MIN_TOKEN_CHARS} characters "
                                "(make one with: rag token new)")
        entries.append(TokenEntry.of("admin", s.auth_token, set(Scope)))
    if not entries and host not in LOOPBACK:
        raise SettingsError(f"refusing to serve on {host} without a token: pass --auth-token (or RAG_AUTH_TOKEN) "
                            "or --auth-file; loopback (127.0.0.1) needs none")
    secret = hashlib.sha256(s.session_secret.encode()).digest() if s.session_secret else None
    return AccessControl(entries, secret=secret, session_seconds=s.session_hours * 3600)


# --- rag token ------------------------------------------------------------------------------

def add_parser(subparsers: Any) -> None:
    """Register ``rag token`` (new, add, list, remove)."""
    p = subparsers.add_parser("token", help="access tokens for rag serve",
                              description="访问令牌 / access tokens for `rag serve` on a team's address")
    sub = p.add_subparsers(dest="token_cmd", required=True)
    sub.add_parser("new", help="print a random token (for --auth-token)")
    for name, helptext in (("add", "add a named token to a token file and print it once"),
                           ("list", "the tokens in a token file (names, scopes, knowledge bases)"),
                           ("remove", "remove a named token (its sessions end too)")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("--file", default=os.environ.get("RAG_AUTH_FILE") or None,
                       help="the token file (default: $RAG_AUTH_FILE)")
        if name != "list":
            q.add_argument("name", help="the token's name (who holds it)")
        if name == "add":
            q.add_argument("--scope", action="append", default=None, choices=[s.value for s in Scope],
                           help="read (ask, read documents) or write (upload, delete); repeat for both "
                                "(default: read)")
            q.add_argument("--kb", action="append", default=None,
                           help="a knowledge base it may use; repeat for several (default: every one)")
    p.set_defaults(handler=cmd_token)


def cmd_token(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``rag token``.

    Raises:
        UsageError: no token file named, a name taken or unknown.
    """
    from rag.errors import UsageError

    if args.token_cmd == "new":
        print(secrets.token_urlsafe(TOKEN_BYTES), file=out)
        return 0
    if not args.file:
        raise UsageError("name the token file with --file (or RAG_AUTH_FILE)")
    path = Path(args.file)
    entries = load_tokens(path) if path.exists() or args.token_cmd != "add" else []
    if args.token_cmd == "list":
        for e in entries:
            kbs = "every knowledge base" if e.kbs is None else ", ".join(sorted(e.kbs))
            print(f"{e.name}\t{'+'.join(sorted(s.value for s in e.scopes))}\t{kbs}", file=out)
        return 0
    if args.token_cmd == "remove":
        if args.name not in {e.name for e in entries}:
            raise UsageError(f"no token named {args.name!r} in {path}")
        save_tokens(path, [e for e in entries if e.name != args.name])
        print(f"removed {args.name}", file=out)
        return 0
    if not _NAME.fullmatch(args.name):
        raise UsageError(f"token name {args.name!r}: use 1-48 letters, digits, _ or -")
    if args.name in {e.name for e in entries}:
        raise UsageError(f"a token named {args.name!r} exists in {path}; remove it first")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    kbs = None if not args.kb else [check_kb_name(k) for k in args.kb]
    entry = TokenEntry.of(args.name, token, [Scope.from_str(s) for s in (args.scope or ["read"])], kbs)
    save_tokens(path, [*entries, entry])
    print(token, file=out)
    log.info("token %s added to %s", args.name, path)
    return 0
