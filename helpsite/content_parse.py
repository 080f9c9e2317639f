"""Reading article files: front matter checked field by field into Article objects, and the YAML data files.

An unusable file raises ContentError with the line it went wrong on; the article store
(helpsite/content.py) logs it and skips the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .rendering import derive_rendering, render_markdown

if TYPE_CHECKING:
    from .content import ArticleStore

# libyaml's parser where PyYAML was built with it: ten times faster than the pure-Python one.
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LANGUAGES = ("nl", "en")
CLIENT_IDS = {
    # The mobile apps of Thunderbird (the former K-9 Mail) and Outlook are programs of their own.
    "email": ("outlook", "thunderbird", "apple_mail", "ios_mail", "android", "windows_mail", "em_client",
              "thunderbird_android", "outlook_mobile"),
    "ftp": ("filezilla", "winscp", "cyberduck"),
}
APPLIES_TO = frozenset(CLIENT_IDS["email"] + CLIENT_IDS["ftp"] + ("general",))
REQUIRED_FIELDS = ("id", "title", "summary", "category", "tags", "applies_to", "updated")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ARTICLE_BYTES = 512 * 1024


class ContentError(Exception):
    """A content file that cannot be used, with the line it went wrong on.

    code names the kind of problem for callers that explain it in the reader's language
    (the editors' preview): "too_large", "encoding", "binary"; None for the other findings.
    """

    def __init__(self, path: Path, line: int, message: str, warning: bool = False, code: str | None = None):
        super().__init__(f"{path}:{line}: {'warning: ' if warning else ''}{message}")
        self.path, self.line, self.message, self.warning, self.code = path, line, message, warning, code


@dataclass(slots=True)
class Article:
    """One article in one language.

    A worker holds one per article file (20,000 at 10,000 per language), so it is kept small:
    slots instead of a __dict__, the file path as a string (``path`` makes the Path on demand),
    and the words many articles repeat (category, tags, clients, dates) shared (_shared).
    """

    id: str
    lang: str
    slug: str
    title: str
    summary: str
    category: str
    tags: list[str]
    applies_to: list[str]
    updated: dt.date
    body: str  # markdown with placeholders
    path_text: str  # the article file; Article.path is this as a Path
    aliases: list[str] = field(default_factory=list)
    draft: bool = False
    verified: str = ""  # client guides: which vendor documentation the steps were checked against, and when
    body_line: int = 1  # line of the file where the markdown body starts
    store: "ArticleStore | None" = field(default=None, repr=False, compare=False)
    digest_bytes: bytes = b""  # sha256 of the file as read (Article.digest is its hex form)
    _own_rendering: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __getattr__(self, name):
        # A store that keeps rendered bodies on disk drops the markdown after loading (a worker
        # need not hold every article's text); it is read from the file again when needed.
        if name == "body" and self.store is not None:
            return read_body(Path(self.path_text))
        raise AttributeError(name)

    @property
    def digest(self) -> str:
        """Return the sha256 of the file as read, in hex: the search index compares it to find changed articles."""
        return self.digest_bytes.hex()

    @property
    def path(self) -> Path:
        """Return the article file (kept as a string: a Path object costs about 500 bytes)."""
        return Path(self.path_text)

    @property
    def html(self) -> str:
        """Return the sanitized HTML of the body (rendered once per content version, kept in a bounded cache)."""
        return self._rendered()[0]

    @property
    def toc(self) -> list[dict]:
        """Return the second-level headings as [{'id', 'title'}] for a table of contents."""
        return self._rendered()[2]

    @property
    def plain_text(self) -> str:
        """Return the body as plain text, for the search index and snippets."""
        return self._rendered()[1]

    def _rendered(self) -> tuple[str, str, list[dict]]:
        # A store keeps the rendering in a bounded LRU and on disk, so that a worker does not
        # hold every article's HTML; an article outside a store (a preview) renders once itself.
        if self.store is not None:
            return self.store.rendered(self)
        if self._own_rendering is None:
            self._own_rendering = derive_rendering(render_markdown(self.body))
        return self._own_rendering


# Values many articles repeat, shared instead of one copy per article: {value: value}.
_SHARED: dict = {}


def _shared(value):
    """Return the one kept copy of an equal string or date (unbounded, but the values repeat by nature)."""
    return _SHARED.setdefault(value, value)


def read_body(path: Path) -> str:
    """Return the markdown body of an article file (what follows the front matter), without parsing the front matter."""
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    except OSError:
        return ""
    end = text.find("\n---", 4)
    if not text.startswith("---\n") or end == -1:
        return ""
    newline = text.find("\n", end + 1)
    return text[newline + 1:] if newline != -1 else ""
def load_yaml(path: Path, default=None):
    """Read a YAML data file, or return default when it does not exist."""
    if not path.exists():
        return default
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=YamlLoader)


def provider_values(provider: dict, lang: str) -> dict[str, str]:
    """Flatten provider.yaml into the placeholder values for one language."""
    values = {}
    for key, value in (provider or {}).items():
        if isinstance(value, dict):
            value = value.get(lang, next(iter(value.values())))
        values[key] = "" if value is None else str(value)  # empty: a fact the company has not filled in
    return values


def parse_article(path: Path, lang: str) -> Article:
    """Read one article file; raise ContentError with a line number when it is unusable."""
    return parse_article_text(path.read_bytes(), path, lang)


def parse_article_text(raw: bytes, path: Path, lang: str) -> Article:
    """Parse the bytes of an article file that lives (or would live) at path."""
    if len(raw) > MAX_ARTICLE_BYTES:
        raise ContentError(path, 1, f"file is larger than {MAX_ARTICLE_BYTES // 1024} KiB", code="too_large")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # what Windows Notepad calls "Unicode"
        raise ContentError(path, 1, "the file is UTF-16, not UTF-8 (save the file as UTF-8)", code="encoding")
    if b"\x00" in raw:  # before decoding: an image is "not a text file", not "not UTF-8"
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ContentError(path, line, "the file contains NUL bytes: it is not a text file", code="binary")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError(path, line, "not valid UTF-8 (save the file as UTF-8)", code="encoding") from None
    text = text.replace("\r\n", "\n")
    if not text.startswith("---\n"):
        raise ContentError(path, 1, "missing front matter: the file must start with a '---' line")
    end = text.find("\n---", 4)
    if end == -1:
        raise ContentError(path, 1, "front matter is not closed with a '---' line")
    try:
        meta = yaml.load(text[4:end], Loader=YamlLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise ContentError(path, line, f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except (ValueError, RecursionError) as exc:  # YAML accepts 2026-13-45 and deep nesting; Python cannot build them
        raise ContentError(path, 2, f"front matter has an impossible value: {exc}") from None
    if not isinstance(meta, dict):
        raise ContentError(path, 2, "front matter must be a mapping of fields")
    body_start = text.find("\n", end + 1) + 1 if text.find("\n", end + 1) != -1 else len(text)
    body_line = text[:body_start].count("\n") + 1

    def field_line(name: str) -> int:
        match = re.search(rf"^{re.escape(name)}\s*:", text[:end], re.M)
        return text[: match.start()].count("\n") + 1 if match else 2

    missing = [name for name in REQUIRED_FIELDS if meta.get(name) in (None, "", [])]
    if missing:
        raise ContentError(path, 2, f"missing front matter field(s): {', '.join(missing)}")
    if not isinstance(meta["id"], str) or not ID_PATTERN.match(meta["id"]):
        raise ContentError(path, field_line("id"), "id must be lowercase letters, digits and hyphens")
    updated = meta["updated"]
    if isinstance(updated, str):
        try:
            updated = dt.date.fromisoformat(updated)
        except ValueError:
            raise ContentError(path, field_line("updated"), "updated must be a date like 2026-11-20") from None
    if not isinstance(updated, dt.date):
        raise ContentError(path, field_line("updated"), "updated must be a date like 2026-11-20")
    for name in ("tags", "applies_to", "aliases"):
        value = meta.get(name, [])
        if isinstance(value, str):
            meta[name] = [value]
        elif not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise ContentError(path, field_line(name), f"{name} must be a list of words")
    if not isinstance(meta.get("draft", False), bool):  # the string "false" would hide the article
        raise ContentError(path, field_line("draft"), "draft must be true or false")
    slug = path.stem
    if not ID_PATTERN.match(slug):
        raise ContentError(path, 1, "file name (the slug) must be lowercase letters, digits and hyphens")
    return Article(
        id=_shared(meta["id"]),  # the same in both languages
        lang=_shared(lang),
        slug=slug,
        title=str(meta["title"]).strip(),
        summary=str(meta["summary"]).strip(),
        category=_shared(str(meta["category"])),
        tags=[_shared(str(t)) for t in meta["tags"]],
        applies_to=[_shared(str(a)) for a in meta["applies_to"]],
        updated=_shared(updated),
        body=text[body_start:],
        path_text=str(path),
        aliases=[str(a) for a in meta.get("aliases") or []],
        draft=bool(meta.get("draft", False)),
        verified=_shared(str(meta.get("verified") or "").strip()),
        body_line=body_line,
        digest_bytes=hashlib.sha256(raw).digest(),
    )

