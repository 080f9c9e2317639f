"""The article store: markdown files with YAML front matter, read into Article objects.

Articles live in ``content/articles/<lang>/<slug>.md``. Provider facts from
``content/provider.yaml`` are filled in through ``{{ placeholders }}``, links written as
``a:<id>`` become URLs in the article's own language, and the rendered HTML is sanitized
with an allowlist. Rendering happens once per article, not per request.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import logging
import multiprocessing
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import markdown
import nh3
import yaml

from .render_cache import RenderCache, code_version

# libyaml's parser where PyYAML was built with it: ten times faster than the pure-Python one.
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

log = logging.getLogger(__name__)

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
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
ARTICLE_LINK = re.compile(r"\]\(a:([a-z0-9-]+)(#[A-Za-z0-9_-]+)?\)")
# [ask us](ask:) is the question form with this article as its context (the article's next step).
ASK_LINK = re.compile(r"\]\(ask:\)")
ASK_PATHS = {"nl": "/nl/vraag-stellen", "en": "/en/ask"}  # views/tickets.py ask()
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
RAW_HTML = re.compile(r"<(?!https?://)[a-zA-Z/!][^>]*>")
MAX_ARTICLE_BYTES = 512 * 1024
# Placeholders filled when the page is shown, not from provider.yaml: {{closed_days}} is the list
# of weekdays the support calendar is closed (kb/article.html), which changes with the date.
PAGE_PLACEHOLDERS = frozenset({"closed_days"})

# What may survive in rendered article HTML. Everything else is stripped by nh3.
ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "a", "ul", "ol", "li", "dl", "dt", "dd",
    "strong", "em", "b", "i", "code", "pre", "kbd", "blockquote", "img", "table", "thead",
    "tbody", "tr", "th", "td", "div", "span", "sup", "sub", "abbr",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "scope"},
    "td": {"align"},
    "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto"}


class ContentError(Exception):
    """A content file that cannot be used, with the line it went wrong on.

    code names the kind of problem for callers that explain it in the reader's language
    (the editors' preview): "too_large", "encoding", "binary"; None for the other findings.
    """

    def __init__(self, path: Path, line: int, message: str, warning: bool = False, code: str | None = None):
        super().__init__(f"{path}:{line}: {'warning: ' if warning else ''}{message}")
        self.path, self.line, self.message, self.warning, self.code = path, line, message, warning, code


@dataclass
class Article:
    """One article in one language."""

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
    path: Path
    aliases: list[str] = field(default_factory=list)
    draft: bool = False
    verified: str = ""  # client guides: which vendor documentation the steps were checked against, and when
    body_line: int = 1  # line of the file where the markdown body starts
    store: "ArticleStore | None" = field(default=None, repr=False, compare=False)
    digest: str = ""  # sha256 of the file as read: the search index compares it to find changed articles

    def __getattr__(self, name):
        # A store that keeps rendered bodies on disk drops the markdown after loading (a worker
        # need not hold every article's text); it is read from the file again when needed.
        if name == "body" and self.__dict__.get("store") is not None:
            return read_body(self.__dict__["path"])
        raise AttributeError(name)

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
        cached = self.__dict__.get("_own_rendering")
        if cached is None:
            cached = self.__dict__["_own_rendering"] = derive_rendering(render_markdown(self.body))
        return cached


def _title_key(article: "Article") -> tuple[str, str]:
    return article.title.lower(), str(article.path)  # the path breaks ties, the same way in a full load


def _version_part(article: "Article") -> int:
    """Return one article's share of the content version (combined with XOR, so order does not matter)."""
    return int.from_bytes(hashlib.sha256(f"{article.lang}/{article.slug}\0{article.digest}".encode()).digest()[:16], "big")


def _insert_sorted(ordered: list, article: "Article") -> None:
    ordered.insert(bisect.bisect_right(ordered, _title_key(article), key=_title_key), article)


def _remove_sorted(ordered: list, article: "Article") -> None:
    position = bisect.bisect_left(ordered, _title_key(article), key=_title_key)
    while position < len(ordered) and _title_key(ordered[position]) == _title_key(article):
        if ordered[position] is article:
            del ordered[position]
            return
        position += 1


def _unlink(t: dict, article: "Article") -> None:
    """Take an article out of the store's lookup tables t (copies being prepared)."""
    lang = article.lang
    t["by_lang"][lang].pop(article.id, None)
    if t["slugs"][lang].get(article.slug) is article:
        del t["slugs"][lang][article.slug]
    for alias in article.aliases:
        if t["aliases"][lang].get(alias) is article:
            del t["aliases"][lang][alias]
    _remove_sorted(t["by_title"][lang], article)
    if not article.draft:
        _remove_sorted(t["in_category"][lang].get(article.category, []), article)
    t["features"].pop((lang, article.id), None)


def _link(t: dict, article: "Article") -> None:
    """Put an article into the store's lookup tables t."""
    lang = article.lang
    t["by_lang"][lang][article.id] = article
    t["slugs"][lang][article.slug] = article
    for alias in article.aliases:
        t["aliases"][lang][alias] = article
    _insert_sorted(t["by_title"][lang], article)
    if not article.draft:
        _insert_sorted(t["in_category"][lang].setdefault(article.category, []), article)
    t["features"][(lang, article.id)] = frozenset(article.tags) | frozenset(article.applies_to)


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


def derive_rendering(html: str) -> tuple[str, str, list[dict]]:
    """Return (html, plain text, table of contents) of rendered article HTML."""
    toc = [{"id": m.group(1), "title": _strip_tags(m.group(2))}
           for m in re.finditer(r'<h2 id="([^"]+)">(.*?)</h2>', html, re.S)]
    # Placeholders filled when the page is shown ({{closed_days}}) are not words of the article.
    text = PLACEHOLDER.sub(lambda m: "" if m.group(1) in PAGE_PLACEHOLDERS else m.group(0), _strip_tags(html))
    return html, re.sub(r"\s+", " ", text).strip(), toc


def _strip_tags(html: str) -> str:
    import html as htmllib

    return htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).strip()


LIST_MARKER = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( +|$)")
FENCE = re.compile(r"^\s*(```|~~~)")


def normalise_lists(text: str) -> str:
    """Re-indent nested lists as authors write them (CommonMark) to what Python-Markdown needs.

    CommonMark nests a line under a list item when it is indented to the item's text: 2 spaces
    under "- ", 3 under "1. ". Python-Markdown only nests at 4 spaces, and a list that follows a
    line of text without a blank line stays part of that paragraph, so both collapse into one
    run-on line. The maintained mdx_truly_sane_lists extension was tried: it fixes one nesting
    width (2 or 3) and collapses the other widths, so this rewrites the lines instead.
    """
    out: list[str] = []
    stack: list[tuple[int, int]] = []  # per open list item: (marker column, text column)
    previous_blank, in_fence = True, False
    # Text of an item that began after a blank line: Python-Markdown reads it as one indented
    # block and swallows a following item into it unless a blank line separates them.
    in_item_paragraph = False
    for line in text.split("\n"):
        expanded = line.expandtabs(4)
        if FENCE.match(expanded) and not stack:
            in_fence = not in_fence
        if in_fence or (FENCE.match(expanded) and not stack):
            out.append(line)
            previous_blank = False
            continue
        if not expanded.strip():
            out.append(line)
            previous_blank = True
            continue
        indent = len(expanded) - len(expanded.lstrip(" "))
        marker = LIST_MARKER.match(expanded)
        if marker and (stack or indent < 4):
            in_list = bool(stack)
            while stack and indent < stack[-1][1]:
                stack.pop()
            if not previous_blank and out and (not in_list or in_item_paragraph):
                # A list may interrupt a paragraph in CommonMark; Python-Markdown needs a blank line.
                out.append("")
            in_item_paragraph = False
            spaces = len(marker.group(3)) if marker.group(3) else 1
            spaces = 1 if spaces > 4 else spaces  # five spaces or more: an indented code block in the item
            stack.append((indent, indent + len(marker.group(2)) + spaces))
            rest = expanded[indent + len(marker.group(2)):].lstrip(" ")
            out.append(" " * 4 * (len(stack) - 1) + marker.group(2) + " " + rest)
        elif stack and previous_blank and indent < stack[-1][1]:
            while stack and indent < stack[-1][1]:
                stack.pop()
            out.append(self_indent(expanded, stack) if stack else line)
            in_item_paragraph = bool(stack)
        elif stack and indent >= stack[-1][1]:
            out.append(self_indent(expanded, stack))
            in_item_paragraph = in_item_paragraph or previous_blank
        else:
            out.append(line)  # a lazy continuation line, or no list at all: as written
        previous_blank = False
    return "\n".join(out)


COLLAPSED_LIST = re.compile(r"<(p|li)>((?:(?!</?(?:p|li|ul|ol)>).)*?)\n[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(.{1,60})", re.S)


def collapsed_lists(html: str) -> list[str]:
    """Return the start of every list item that rendered as text of a paragraph or item above it."""
    return [re.sub(r"<[^>]+>", "", match.group(3)).split("\n")[0].strip() for match in COLLAPSED_LIST.finditer(html)]


def self_indent(line: str, stack: list[tuple[int, int]]) -> str:
    """Return a line that belongs to the innermost open item, indented 4 spaces per list level."""
    extra = line[stack[-1][1]:] if line[: stack[-1][1]].strip() == "" else line.lstrip(" ")
    return " " * 4 * len(stack) + extra


HEADING_OR_TABLE = re.compile(r"^\s*(#{1,6}\s|\||```|~~~)")


def drop_blocks_with(text: str, names: set[str]) -> str:
    """Leave out the paragraphs, list items (with their nested lines) and table rows that use one of these placeholders.

    A line of any other kind (a heading) only loses the line itself. Authors write a sentence
    with an optional fact as its own paragraph or list item, so the page reads well without it.
    """
    lines = text.split("\n")
    drop = [False] * len(lines)

    def uses(line: str) -> bool:
        return any(match.group(1) in names for match in PLACEHOLDER.finditer(line))

    def paragraph_line(line: str) -> bool:
        return bool(line.strip()) and not LIST_MARKER.match(line) and not HEADING_OR_TABLE.match(line)

    for number, line in enumerate(lines):
        if drop[number] or not uses(line):
            continue
        marker = LIST_MARKER.match(line)
        if marker:
            drop[number] = True
            indent = len(marker.group(1))
            after = number + 1
            while after < len(lines) and lines[after].strip() and (
                    len(lines[after]) - len(lines[after].lstrip(" ")) > indent):
                drop[after] = True
                after += 1
        elif paragraph_line(line):
            start = number
            while start > 0 and paragraph_line(lines[start - 1]):
                start -= 1
            end = number
            while end + 1 < len(lines) and paragraph_line(lines[end + 1]):
                end += 1
            for index in range(start, end + 1):
                drop[index] = True
        else:
            drop[number] = True
    return "\n".join(line for line, dropped in zip(lines, drop) if not dropped)


def render_markdown(text: str) -> str:
    """Render markdown to sanitized HTML with stable heading anchors."""
    html = markdown.markdown(
        normalise_lists(text),
        extensions=["tables", "attr_list", "sane_lists", "fenced_code", "toc"],
        extension_configs={"toc": {"permalink": False}},
        output_format="html",
    )
    return label_table_cells(sanitize_html(html))


TABLE = re.compile(r"<table\b.*?</table>", re.S)
ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<(td|th)\b([^>]*)>(.*?)</\1>", re.S)


def label_table_cells(html: str) -> str:
    """Give every body cell of a table its column's heading as data-label.

    On a phone a table of settings is shown as one card per row (site.css), each value under
    its heading, instead of a table so narrow that host names and ports break mid-word.
    """

    def label_table(table: re.Match) -> str:
        text = table.group(0)
        head_end = text.find("</thead>")
        if head_end == -1:
            return text
        head_row = ROW.search(text[:head_end])
        if not head_row:
            return text
        labels = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell.group(3))).strip().replace('"', "&quot;")
                  for cell in CELL.finditer(head_row.group(1))]

        def label_row(row: re.Match) -> str:
            cells = iter(labels)

            def label_cell(cell: re.Match) -> str:
                label = next(cells, "")
                if not label or "data-label" in cell.group(2):
                    return cell.group(0)
                return f'<{cell.group(1)}{cell.group(2)} data-label="{label}">{cell.group(3)}</{cell.group(1)}>'

            return CELL.sub(label_cell, row.group(0))

        return text[:head_end] + ROW.sub(label_row, text[head_end:])

    return TABLE.sub(label_table, html)


def sanitize_html(html: str) -> str:
    """Strip everything that is not on the allowlist (scripts, handlers, odd URL schemes)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


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
        id=meta["id"],
        lang=lang,
        slug=slug,
        title=str(meta["title"]).strip(),
        summary=str(meta["summary"]).strip(),
        category=str(meta["category"]),
        tags=[str(t) for t in meta["tags"]],
        applies_to=[str(a) for a in meta["applies_to"]],
        updated=updated,
        body=text[body_start:],
        path=path,
        aliases=[str(a) for a in meta.get("aliases") or []],
        draft=bool(meta.get("draft", False)),
        verified=str(meta.get("verified") or "").strip(),
        body_line=body_line,
        digest=hashlib.sha256(raw).hexdigest(),
    )


PARALLEL_RENDER_MIN = 400  # fewer articles render faster in-process than a pool starts


def _render_item(item: tuple[str, str]) -> tuple[str, str, str]:
    """Render one (key, markdown) pair for prerender(); module level so that a process pool can call it."""
    key, text = item
    html, plain, _ = derive_rendering(render_markdown(text))
    return key, html, plain


DATA_FILES = ("provider.yaml", "categories.yaml", "search.yaml")
# Rendered bodies cached on disk are keyed by this too: a change to this module or to the
# markdown and sanitizing libraries renders every article anew.
RENDER_CODE_VERSION = code_version(sys.modules[__name__], markdown, nh3)


class ArticleStore:
    """All articles of the content folder, kept current file by file.

    Bound to an app with init_app, like an extension; reached as app.extensions["articles"].
    reload() reads everything (at start-up and when a data file changed); apply_changes()
    re-reads only the files that changed, which is what the content watcher calls
    (helpsite/content_sync.py), outside any request.
    """

    def __init__(self, app=None):
        self.content_dir: Path | None = None
        self.reload_interval = 5.0
        self._lock = threading.RLock()
        self.by_lang: dict[str, dict[str, Article]] = {}
        self._by_path: dict[Path, Article] = {}
        self._by_title: dict[str, list[Article]] = {}
        self._in_category: dict[str, dict[str, list[Article]]] = {}
        self._related: dict[tuple, list[Article]] = {}
        self._features: dict[tuple, frozenset] = {}
        self._render_epoch = ""
        self._data_digest = ""
        self.provider, self.categories = {}, []
        self.errors: list[ContentError] = []
        self.version = ""
        self.renders = RenderCache(None)
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        """Read the content folder named by CONTENT_DIR."""
        self.content_dir = Path(app.config["CONTENT_DIR"])
        self.reload_interval = app.config.get("CONTENT_RELOAD_INTERVAL", 5.0)
        cache_path = app.config.get("RENDER_CACHE_PATH")
        if cache_path is None and app.config.get("SEARCH_INDEX_DIR"):
            cache_path = Path(app.config["SEARCH_INDEX_DIR"]) / "render-cache.sqlite"
        self.renders = RenderCache(cache_path or None, int(app.config.get("RENDER_MEMORY_ENTRIES", 256)))
        app.extensions["articles"] = self
        self.reload()

    # -- loading -------------------------------------------------------------

    @property
    def articles_dir(self) -> Path:
        return self.content_dir / "articles"

    def files(self) -> list[tuple[str, Path]]:
        """Return (lang, path) for every article file, in a stable order."""
        found = []
        for lang in LANGUAGES:
            folder = self.articles_dir / lang
            if folder.is_dir():
                found.extend((lang, p) for p in sorted(folder.glob("*.md")))
        return found

    def data_paths(self) -> list[Path]:
        """Return the editors' data files (provider facts, categories, search vocabulary)."""
        return [self.content_dir / name for name in DATA_FILES]

    def content_hash(self) -> str:
        """Return a hash of the content, for deciding whether the search index is current.

        Made from the digests taken when each file was read, so it costs no file reads.
        """
        return self.version

    def _read_data(self) -> None:
        digest = hashlib.sha256()
        for path in self.data_paths():
            try:
                raw = path.read_bytes()
            except OSError:
                raw = b""
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(raw).digest())
        self._data_digest = digest.hexdigest()
        self.provider = load_yaml(self.content_dir / "provider.yaml", {}) or {}
        self.categories = load_yaml(self.content_dir / "categories.yaml", []) or []
        self._values = {lang: provider_values(self.provider, lang) for lang in LANGUAGES}

    def reload(self) -> None:
        """Read every article again; a broken file is logged and skipped, never fatal."""
        with self._lock:
            self._read_data()
            by_path: dict[Path, Article] = {}
            errors: list[ContentError] = []
            for lang, path in self.files():
                article = self._parse(path, lang, errors)
                if article is not None:
                    by_path[path] = article
            self._by_path = by_path
            self.errors = errors
            self._related = {}
            self._finish()

    def _parse(self, path: Path, lang: str, errors: list) -> Article | None:
        try:
            article = parse_article(path, lang)
        except ContentError as exc:
            log.error("skipping article: %s", exc)
            errors.append(exc)
            return None
        except OSError as exc:
            log.error("skipping article %s: %s", path, exc)
            errors.append(ContentError(path, 1, str(exc)))
            return None
        article.store = self
        if not self.renders.disabled:
            del article.body  # read again from the file on demand (Article.__getattr__)
        return article

    def _finish(self) -> None:
        """Derive the lookups from the parsed files: ids, slugs, aliases, listings, the version.

        In memory only (no file is read): a single changed file costs milliseconds here even
        with thousands of articles.
        """
        by_lang: dict[str, dict[str, Article]] = {lang: {} for lang in LANGUAGES}
        errors = [e for e in self.errors if not getattr(e, "duplicate", False)]
        for path in sorted(self._by_path):
            article = self._by_path[path]
            other = by_lang[article.lang].get(article.id)
            if other is not None:
                exc = ContentError(path, 2, f"duplicate id {article.id!r} (also in {other.path.name})")
                exc.duplicate = True
                log.error("skipping article: %s", exc)
                errors.append(exc)
                continue
            by_lang[article.lang][article.id] = article
        self.by_lang = by_lang
        self.errors = errors
        self._slugs = {lang: {a.slug: a for a in arts.values()} for lang, arts in by_lang.items()}
        self._aliases = {
            lang: {alias: a for a in arts.values() for alias in a.aliases} for lang, arts in by_lang.items()
        }
        # Sorted once per content version, not per page view: listings read them on every request.
        self._by_title = {
            lang: sorted(arts.values(), key=_title_key) for lang, arts in by_lang.items()
        }
        self._in_category = {}
        for lang, ordered in self._by_title.items():
            per_category: dict[str, list[Article]] = {}
            for article in ordered:
                if not article.draft:
                    per_category.setdefault(article.category, []).append(article)
            self._in_category[lang] = per_category
        self._features = {
            (a.lang, a.id): frozenset(a.tags) | frozenset(a.applies_to) for arts in by_lang.values() for a in arts.values()
        }
        # An order-free sum of one hash per article: a changed file updates it in O(1).
        self._version_sum = 0
        for arts in by_lang.values():
            for article in arts.values():
                self._version_sum ^= _version_part(article)
        self._set_version()
        # Rendered HTML depends on the provider facts and on the slugs links resolve to.
        epoch = hashlib.sha256(self._data_digest.encode())
        for lang in LANGUAGES:
            for article_id, article in sorted(by_lang[lang].items()):
                epoch.update(f"{lang}/{article_id}={article.slug}\n".encode())
        if epoch.hexdigest() != self._render_epoch:
            self._render_epoch = epoch.hexdigest()
            self.renders.clear_memory()

    def is_data_file(self, path: Path) -> bool:
        return Path(path).name in DATA_FILES and Path(path).parent == self.content_dir

    def article_path_lang(self, path: Path) -> str | None:
        """Return the language of an article file path, or None when the path is not an article file."""
        path = Path(path)
        if path.suffix != ".md" or path.parent.parent != self.articles_dir or path.parent.name not in LANGUAGES:
            return None
        return path.parent.name

    def apply_changes(self, paths) -> dict:
        """Re-read just these files (changed, new or deleted); return what changed.

        Returns {"reloaded": bool, "changed": [Article], "removed": [(lang, id)]}. A changed
        data file (provider facts, categories, vocabulary) reloads everything, because every
        article may render differently.
        """
        paths = {Path(p) for p in paths}
        with self._lock:
            if any(self.is_data_file(p) for p in paths):
                before = {(a.lang, a.id) for arts in self.by_lang.values() for a in arts.values()}
                self.reload()
                after = {(a.lang, a.id) for arts in self.by_lang.values() for a in arts.values()}
                return {"reloaded": True, "changed": [a for arts in self.by_lang.values() for a in arts.values()],
                        "removed": sorted(before - after)}
            errors = [e for e in self.errors if Path(e.path) not in paths]
            updates = []  # (path, previous article or None, new article or None)
            for path in paths:
                lang = self.article_path_lang(path)
                if lang is None:
                    continue
                previous = self._by_path.get(path)
                article = self._parse(path, lang, errors) if path.exists() else None
                if previous is not None and article is not None and previous.digest == article.digest:
                    continue  # touched, not changed
                if previous is None and article is None:
                    continue  # a new file that cannot be used (logged), or one created and deleted again
                updates.append((path, previous, article))
            self.errors = errors
            if not updates:
                return {"reloaded": False, "changed": [], "removed": []}
            if self._needs_full_finish(updates):
                old = {(a.lang, a.id): a for arts in self.by_lang.values() for a in arts.values()}
                for path, _, article in updates:
                    if article is None:
                        self._by_path.pop(path, None)
                    else:
                        self._by_path[path] = article
                self._finish()
                new = {(a.lang, a.id): a for arts in self.by_lang.values() for a in arts.values()}
                changed = [a for key, a in new.items() if old.get(key) is not a]
                removed = sorted(key for key in old if key not in new)
            else:
                changed, removed = self._update_in_place(updates)
            self._forget_related({(a.lang, a.id) for a in changed} | set(removed))
            return {"reloaded": False, "changed": changed, "removed": removed}

    def _needs_full_finish(self, updates) -> bool:
        """Return whether ids move between files (duplicates, renames onto an id): then derive everything again."""
        for path, previous, article in updates:
            for item in (previous, article):
                if item is None:
                    continue
                holder = self.by_lang.get(item.lang, {}).get(item.id)
                if holder is not None and holder.path != path:
                    return True  # another file has this id
            if previous is not None and self.by_lang.get(previous.lang, {}).get(previous.id) is not previous:
                return True  # the previous version was itself a skipped duplicate
            if previous is not None and article is not None and previous.id != article.id:
                return True
        return any(getattr(e, "duplicate", False) for e in self.errors)

    def _update_in_place(self, updates) -> tuple[list[Article], list[tuple[str, str]]]:
        """Apply changed files to every lookup without deriving them again: no file read, no sort, no hash of all.

        The lookups of the languages involved are copied, changed and swapped in, so that a
        request reading them meanwhile (in another thread) never sees one half-changed.
        """
        langs = {item.lang for _, previous, article in updates for item in (previous, article) if item is not None}
        t = {
            "by_lang": dict(self.by_lang), "slugs": dict(self._slugs), "aliases": dict(self._aliases),
            "by_title": dict(self._by_title), "in_category": dict(self._in_category), "features": dict(self._features),
        }
        for lang in langs:
            for name in ("by_lang", "slugs", "aliases"):
                t[name][lang] = dict(t[name].get(lang, {}))
            t["by_title"][lang] = list(t["by_title"].get(lang, []))
            t["in_category"][lang] = {c: list(v) for c, v in t["in_category"].get(lang, {}).items()}
        changed, removed, links_moved = [], [], False
        for path, previous, article in updates:
            if previous is not None:
                _unlink(t, previous)
                self._version_sum ^= _version_part(previous)
            if article is None:
                self._by_path.pop(path, None)
                removed.append((previous.lang, previous.id))
                links_moved = True
                continue
            self._by_path[path] = article
            _link(t, article)
            self._version_sum ^= _version_part(article)
            changed.append(article)
            links_moved = links_moved or previous is None or previous.slug != article.slug
        self.by_lang, self._slugs, self._aliases = t["by_lang"], t["slugs"], t["aliases"]
        self._by_title, self._in_category, self._features = t["by_title"], t["in_category"], t["features"]
        self._set_version()
        if links_moved:  # links in other articles may resolve differently now
            self._render_epoch = hashlib.sha256(f"{self._render_epoch}\0{self.version}".encode()).hexdigest()
            self.renders.clear_memory()
        return changed, sorted(removed)

    def _set_version(self) -> None:
        self.version = hashlib.sha256(f"{self._data_digest}\0{self._version_sum:032x}".encode()).hexdigest()

    def refresh_if_changed(self) -> bool:
        """Reload everything when the files changed; return True on reload.

        Kept for scripts and tests: the running site learns of changes from the content
        watcher (content_sync), which re-reads only the changed files.
        """
        before = self.version
        self.reload()
        return self.version != before

    # -- lookups -------------------------------------------------------------

    def get(self, lang: str, article_id: str, include_drafts: bool = False) -> Article | None:
        """Return the article with this id in this language, or None."""
        article = self.by_lang.get(lang, {}).get(article_id)
        if article and article.draft and not include_drafts:
            return None
        return article

    def by_slug(self, lang: str, slug: str) -> Article | None:
        """Return the article with this slug in this language (drafts included), or None."""
        return self._slugs.get(lang, {}).get(slug)

    def by_alias(self, lang: str, slug: str) -> Article | None:
        """Return the article that used to live at this slug, or None."""
        return self._aliases.get(lang, {}).get(slug)

    def translation(self, article: Article, lang: str, include_drafts: bool = False) -> Article | None:
        """Return the same article in another language, or None when it is not translated."""
        return self.get(lang, article.id, include_drafts)

    def in_language(self, lang: str, include_drafts: bool = False) -> list[Article]:
        """Return the articles of one language sorted by title."""
        ordered = self._by_title.get(lang, [])
        return list(ordered) if include_drafts else [a for a in ordered if not a.draft]

    def all_ids(self) -> set[str]:
        """Return every article id in any language."""
        return {article_id for arts in self.by_lang.values() for article_id in arts}

    def best(self, article_id: str, lang: str, include_drafts: bool = False) -> Article | None:
        """Return the article in lang, or else in the other language (shown with a notice)."""
        article = self.get(lang, article_id, include_drafts)
        if article:
            return article
        for other in LANGUAGES:
            article = self.get(other, article_id, include_drafts)
            if article:
                return article
        return None

    def category(self, category_id: str) -> dict | None:
        """Return the category definition with this id, or None."""
        return next((c for c in self.categories if c.get("id") == category_id), None)

    def in_category(self, lang: str, category_id: str) -> list[Article]:
        """Return the published articles of a category in one language, by title (computed once per version)."""
        return self._in_category.get(lang, {}).get(category_id, [])

    def category_counts(self, lang: str) -> dict[str, int]:
        """Return {category id: number of published articles} in one language."""
        return {c.get("id"): len(self.in_category(lang, c.get("id"))) for c in self.categories}

    def _related_score(self, article: Article, other: Article) -> tuple:
        mine = self._features.get((article.lang, article.id), frozenset()) - {"general"}
        shared = len(mine & self._features.get((other.lang, other.id), frozenset()))
        return (shared + (2 if other.category == article.category else 0), other.title)

    def related(self, article: Article, limit: int = 4) -> list[Article]:
        """Return other articles sharing the most tags, clients and the category."""
        # Scoring every article of the language costs more than the rest of the page once there
        # are thousands, so it is done once per article and content version; a changed article
        # only drops the lists it could change (_forget_related).
        key = (article.lang, article.id, limit)
        cached = self._related.get(key)
        if cached is not None and self.by_lang.get(article.lang, {}).get(article.id) is article:
            return cached
        scored = [(self._related_score(article, a), a) for a in self.in_language(article.lang) if a.id != article.id]
        scored.sort(key=lambda pair: pair[0], reverse=True)
        found = [a for points, a in scored if points[0] > 0][:limit]
        self._related[key] = found
        return found

    def _forget_related(self, keys: set[tuple]) -> None:
        """Drop the related lists a change of these articles can alter; keep the rest."""
        current = {key: self.by_lang.get(key[0], {}).get(key[1]) for key in keys}
        for cache_key, found in list(self._related.items()):
            lang, article_id, limit = cache_key
            if (lang, article_id) in keys or any((a.lang, a.id) in keys for a in found):
                del self._related[cache_key]
                continue
            owner = self.by_lang.get(lang, {}).get(article_id)
            if owner is None:
                del self._related[cache_key]
                continue
            # A changed or new article may now outrank the last of this list.
            worst = self._related_score(owner, found[-1]) if len(found) >= limit else (0, "")
            for (other_lang, _), changed in current.items():
                if changed is not None and other_lang == lang and changed.id != article_id and not changed.draft:
                    score = self._related_score(owner, changed)
                    if score[0] > 0 and score > worst:
                        del self._related[cache_key]
                        break

    def placeholder_values(self, lang: str) -> dict[str, str]:
        """Return the provider facts for one language."""
        return self._values.get(lang, {})

    # -- rendering -----------------------------------------------------------

    def article_url(self, article: Article) -> str:
        """Return the site path of an article (without the host)."""
        word = {"nl": "artikel", "en": "article"}[article.lang]
        return f"/{article.lang}/{word}/{article.slug}"

    def fill_placeholders(self, text: str, lang: str) -> str:
        """Replace {{ name }} with the provider fact; unknown names are left visible.

        A paragraph, list item or table row that uses a fact whose value is empty (one the
        company has not filled in, such as a sending limit the SLA does not give) is left out.
        """
        values = self.placeholder_values(lang)
        empty = {name for name, value in values.items() if not value.strip()}
        if empty:
            text = drop_blocks_with(text, empty)
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def resolve_links(self, text: str, lang: str, article_id: str | None = None) -> str:
        """Turn (a:id#section) links into the URL of that article in this language, and (ask:) into the question form.

        The question form gets this article as its context (?article=<id>), so that support
        sees what the customer read.
        """
        ask = ASK_PATHS.get(lang, ASK_PATHS["en"]) + (f"?article={article_id}" if article_id else "")
        text = ASK_LINK.sub(f"]({ask})", text)

        def replace(match: re.Match) -> str:
            target = self.best(match.group(1), lang)
            anchor = match.group(2) or ""
            if target is None:
                return f"](/a/{match.group(1)}{anchor})"
            return f"]({self.article_url(target)}{anchor})"

        return ARTICLE_LINK.sub(replace, text)

    def render(self, article: Article) -> str:
        """Render an article's body: placeholders, links, markdown, sanitizing."""
        return self.rendered(article)[0]

    def rendered(self, article: Article) -> tuple[str, str, list[dict]]:
        """Return (html, plain text, table of contents) of an article.

        Looked up in a bounded in-memory LRU, then in the render cache on disk (keyed by the
        exact markdown rendered), and only then rendered.
        """
        slot = (article.lang, article.id, article.path)
        check = (article.digest, self._render_epoch)
        found = self.renders.memory_get(slot)
        if found is not None and found[0] == check:
            return found[1]
        text = self.resolve_links(self.fill_placeholders(article.body, article.lang), article.lang, article.id)
        key = hashlib.sha256(f"{RENDER_CODE_VERSION}\0{text}".encode()).hexdigest()
        stored = self.renders.load(key)
        if stored is not None:
            html, plain = stored
            value = (html, plain, derive_rendering(html)[2])
        else:
            value = derive_rendering(render_markdown(text))
            self.renders.store(key, value[0], value[1])
        self.renders.memory_put(slot, check, value)
        return value

    def prerender(self, articles, processes: int = 1) -> int:
        """Put the articles the render cache lacks into it, in parallel processes when there are many.

        Returns how many were rendered. Without a render cache file there is nowhere to keep
        them, and pages render on demand instead.
        """
        if self.renders.disabled:
            return 0
        todo = []
        for article in articles:
            text = self.resolve_links(self.fill_placeholders(article.body, article.lang), article.lang, article.id)
            key = hashlib.sha256(f"{RENDER_CODE_VERSION}\0{text}".encode()).hexdigest()
            if self.renders.load(key) is None:
                todo.append((key, text))
        if processes > 1 and len(todo) >= PARALLEL_RENDER_MIN:
            # spawn, not fork: the parent runs threads (the content watcher), and a forked
            # child could inherit a held lock.
            with multiprocessing.get_context("spawn").Pool(processes) as pool:
                for key, html, plain in pool.imap_unordered(_render_item, todo, chunksize=16):
                    self.renders.store(key, html, plain)
        else:
            for item in todo:
                key, html, plain = _render_item(item)
                self.renders.store(key, html, plain)
        return len(todo)

    def render_text(self, text: str, lang: str, article_id: str | None = None) -> str:
        """Render markdown that is not (yet) a stored article, the same way articles are rendered."""
        return render_markdown(self.resolve_links(self.fill_placeholders(text, lang), lang, article_id))
