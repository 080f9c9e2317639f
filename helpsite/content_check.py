"""`flask content check`: what makes an article unusable or wrong, with the file and line.

The structural checks (front matter, links, placeholders, images, HTML, lists) keep the site
working; the content checks keep the articles saying what the SLA and the settings say and
read the same everywhere (issue 15, content/README.md):

- every article ends with a next step: its last ``##`` section is ``{#next-step}`` and holds an
  ``[ask us](ask:)`` link to the question form;
- no holiday date or list of holiday names typed in prose: the support calendar decides which
  days support is closed, and ``{{closed_days}}`` shows them;
- no value typed that exists as a placeholder (hosts, ports, hours, prices, quota, limits);
- a client guide (applies_to names a client) says in ``verified`` front matter which vendor
  documentation its steps were checked against;
- one word for each concept: ``content/terminology.yaml`` lists per language the words not to
  use and the word to use instead; a client's own label quoted in **bold** is exempt;
- the "see also" heading is "Zie ook" / "See also", never "Related articles".
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml

from .content import (
    ARTICLE_LINK, ASK_LINK, FENCE, IMAGE, LANGUAGES, LIST_MARKER, PAGE_PLACEHOLDERS, PLACEHOLDER, RAW_HTML,
    APPLIES_TO, Article, ArticleStore, ContentError, collapsed_lists, load_yaml, parse_article_text,
)
from .support_calendar import national_holidays

TERMINOLOGY_FILE = "terminology.yaml"
NEXT_STEP_ANCHOR = "{#next-step}"
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
# "See also" in the words of each language; "Related articles" is the site's own box under the article.
RELATED_HEADINGS = {"nl": "Zie ook", "en": "See also"}
WRONG_RELATED_HEADINGS = {"nl": ("Gerelateerde artikelen", "Verwante artikelen"), "en": ("Related articles",)}


def check_content(content_dir: Path) -> list[ContentError]:
    """Validate every content file and return the problems found (empty when all is well)."""
    store = ArticleStore()
    store.content_dir = Path(content_dir)
    store.reload_interval = None
    store.reload()
    problems = list(store.errors)
    terms, term_problems = load_terminology(store.content_dir)
    problems.extend(term_problems)
    # Slugs first: an alias that takes another article's slug is reported in the file with the alias.
    slugs_seen: dict[tuple[str, str], Path] = {
        (lang, article.slug): article.path for lang, articles in store.by_lang.items() for article in articles.values()
    }

    for lang, articles in store.by_lang.items():
        for article in articles.values():
            problems.extend(check_article(article, store, terms))
            for slug in article.aliases:
                key = (lang, slug)
                if key in slugs_seen and slugs_seen[key] != article.path:
                    problems.append(ContentError(
                        article.path, 2, f"slug or alias {slug!r} is also used by {slugs_seen[key].name}"))
                slugs_seen[key] = article.path
    problems.sort(key=lambda p: (str(p.path), p.line))
    return problems


def check_article(article: Article, store: ArticleStore, terms: dict | None = None) -> list[ContentError]:
    """Check one parsed article against the store: category, clients, translations, placeholders, links, images,
    HTML, and its content (next step, terminology, typed facts and holidays, verified client steps).

    terms: the terminology (load_terminology); read from the store's content folder when not given.
    """
    if terms is None:
        terms = load_terminology(store.content_dir)[0] if store.content_dir else {}
    problems: list[ContentError] = []
    path, lang = article.path, article.lang
    category_ids = {c.get("id") for c in store.categories}
    known_placeholders = set(store.placeholder_values("nl")) | PAGE_PLACEHOLDERS
    all_ids = store.all_ids() | {article.id}  # an article may link to itself

    def problem(line: int, message: str, warning: bool = False) -> None:
        problems.append(ContentError(path, line, message, warning))

    if article.category not in category_ids:
        problem(2, f"unknown category {article.category!r} (categories.yaml has {', '.join(sorted(category_ids))})")
    for client in article.applies_to:
        if client not in APPLIES_TO:
            problem(2, f"unknown applies_to id {client!r}")
    for other in LANGUAGES:
        if other != lang and article.id not in store.by_lang.get(other, {}):
            problem(1, f"no {other} translation of article {article.id!r} (it will be shown in {lang})", warning=True)
    for offset, line in enumerate(article.body.split("\n")):
        lineno = article.body_line + offset
        for match in PLACEHOLDER.finditer(line):
            if match.group(1) not in known_placeholders:
                problem(lineno, f"unknown placeholder {{{{{match.group(1)}}}}}")
        for match in ARTICLE_LINK.finditer(line):
            if match.group(1) not in all_ids:
                problem(lineno, f"link to unknown article a:{match.group(1)}")
        for match in re.finditer(r"\]\(/a/([a-z0-9-]+)", line):
            if match.group(1) not in all_ids:
                problem(lineno, f"link to unknown article /a/{match.group(1)}")
        for match in IMAGE.finditer(line):
            if not match.group(1).strip():
                problem(lineno, f"image {match.group(2)!r} has no alt text")
        if RAW_HTML.search(line) and not line.lstrip().startswith(("    ", "```")):
            problem(lineno, "raw HTML is not allowed (it is removed when the page is rendered)")
    for text in collapsed_lists(store.render(article)):
        problem(_line_of(article, text), f"a list item ({text[:40]!r}) is shown as part of the text above it, "
                "not as a list: indent a nested item under the text of its parent item, with a blank line before the list")
    problems.extend(check_wording(article, store, terms))
    problems.extend(check_verified(article))
    problems.sort(key=lambda p: p.line)
    return problems


def _line_of(article: Article, rendered_text: str) -> int:
    """Return the line of the article file that starts a list item with this rendered text (or the body's first)."""
    words = re.sub(r"[*_`]", "", rendered_text)[:20]
    for offset, line in enumerate(article.body.split("\n")):
        if LIST_MARKER.match(line.lstrip(" >")) and words and words in re.sub(r"[*_`]", "", line):
            return article.body_line + offset
    return article.body_line


def check_article_text(raw: bytes, lang: str, slug: str, store: ArticleStore) -> tuple[Article | None, list[ContentError]]:
    """Parse and check one article text as if it were saved as <lang>/<slug>.md; nothing is written.

    Returns the article (None when it cannot be parsed) and the findings. The file it would
    replace is the same article, not a duplicate; any other article with its id, slug or an
    alias is.
    """
    path = store.articles_dir / lang / f"{slug}.md"
    try:
        article = parse_article_text(raw, path, lang)
    except ContentError as exc:
        return None, [exc]
    article.store = store
    problems = check_article(article, store)
    same_id = store.by_lang.get(lang, {}).get(article.id)
    if same_id is not None and same_id.path != path:
        problems.append(ContentError(path, 2, f"duplicate id {article.id!r} (also in {same_id.path.name})"))
    for name in [article.slug, *article.aliases]:
        owner = store.by_slug(lang, name) or store.by_alias(lang, name)
        if owner is not None and owner.path != path:
            problems.append(ContentError(path, 2, f"slug or alias {name!r} is also used by {owner.path.name}"))
    problems.sort(key=lambda p: p.line)
    return article, problems


# -- terminology ---------------------------------------------------------------------------------

class Term:
    """One word not to use in one language, and the word to use instead."""

    def __init__(self, forbidden: str, preferred: str):
        self.forbidden, self.preferred = forbidden, preferred
        # A term that differs only in capitals (Filezilla -> FileZilla) is matched exactly; the
        # others in any capitals, so that a sentence may start with the word.
        flags = 0 if forbidden.lower() == preferred.lower() else re.IGNORECASE
        self.pattern = re.compile(rf"(?<![\w-]){re.escape(forbidden)}(?![\w-])", flags)


def load_terminology(content_dir: Path) -> tuple[dict[str, list[Term]], list[ContentError]]:
    """Read content/terminology.yaml: {lang: {forbidden: preferred}}; return the terms and any problem with the file."""
    path = Path(content_dir) / TERMINOLOGY_FILE
    try:
        data = load_yaml(path, {}) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return {}, [ContentError(path, mark.line + 1 if mark else 1, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return {}, [ContentError(path, 1, "must be a mapping of languages (nl, en) to {word not to use: word to use}")]
    terms: dict[str, list[Term]] = {}
    problems = []
    for lang, pairs in data.items():
        if lang not in LANGUAGES or not isinstance(pairs, dict):
            problems.append(ContentError(path, 1, f"{lang!r}: expected a language ({', '.join(LANGUAGES)}) "
                                                  "with a mapping of {word not to use: word to use}"))
            continue
        terms[lang] = [Term(str(bad), str(good)) for bad, good in pairs.items() if str(bad).strip() and good]
    return terms, problems


def prose(line: str) -> str:
    """Return a line with what is exempt from the word checks blanked out.

    Exempt: a client's own label quoted in **bold**, inline code, link and image targets, heading
    anchors (``{#gmail-app}`` is an id, not prose) and placeholders. Blanked with spaces, so that positions stay where they were.
    """
    def blank(match: re.Match) -> str:
        return " " * len(match.group(0))

    line = re.sub(r"\*\*.+?\*\*|__.+?__", blank, line)
    line = re.sub(r"`[^`]*`", blank, line)
    line = re.sub(r"\{#[^}]*\}", blank, line)
    line = re.sub(r"\]\([^)]*\)", lambda m: "]" + " " * (len(m.group(0)) - 1), line)
    return PLACEHOLDER.sub(blank, line)


def body_lines(article: Article):
    """Yield (line number, line) of the body outside fenced code blocks."""
    in_fence = False
    for offset, line in enumerate(article.body.split("\n")):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield article.body_line + offset, line


# -- typed holidays ------------------------------------------------------------------------------

MONTHS = {
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7, "augustus": 8,
    "september": 9, "oktober": 10, "november": 11, "december": 12,
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8, "october": 10,
}
MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|e)?\s+(?:of\s+)?({MONTH})\b(?:\s+(\d{{4}}))?", re.I)
MONTH_DAY = re.compile(rf"\b({MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I)
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# Holidays on a fixed date (New Year, King's Day and the day before it, Liberation Day, Christmas):
# typed without a year they still name a holiday.
FIXED_HOLIDAYS = {(1, 1), (4, 26), (4, 27), (5, 5), (12, 25), (12, 26)}
HOLIDAY_NAMES = {  # a pattern per holiday: two of them in one paragraph, list or table is a typed list
    "new-year": r"nieuwjaars?dag|nieuwjaar|new year'?s?(?: day)?",
    "good-friday": r"goede vrijdag|good friday",
    "easter": r"pasen|(?:eerste |tweede )?paasdag(?:en)?|paasmaandag|easter(?: sunday| monday)?",
    "kings-day": r"koningsdag|king'?s day",
    "liberation": r"bevrijdingsdag|liberation day",
    "ascension": r"hemelvaart(?:sdag)?|ascension(?: day)?",
    "whitsun": r"pinksteren|(?:eerste |tweede )?pinksterdag(?:en)?|pinkstermaandag|whit(?:sun| monday| sunday)|pentecost",
    "christmas": r"kerstmis|(?:eerste |tweede )?kerstdag(?:en)?|christmas(?: day)?|boxing day|second day of christmas",
}
HOLIDAY_NAME = re.compile("|".join(f"(?P<{key.replace('-', '_')}>(?<![\\w-])(?:{pattern})(?![\\w-]))"
                                   for key, pattern in HOLIDAY_NAMES.items()), re.I)


def is_holiday(day: int, month: int, year: str | None) -> bool:
    if year:
        try:
            return date(int(year), month, day) in national_holidays(int(year))
        except ValueError:
            return False
    return (month, day) in FIXED_HOLIDAYS


def typed_holiday_dates(line: str) -> list[str]:
    """Return the holiday dates typed in a line of prose."""
    found = []
    for match in DAY_MONTH.finditer(line):
        if is_holiday(int(match.group(1)), MONTHS[match.group(2).lower()], match.group(3)):
            found.append(match.group(0))
    for match in MONTH_DAY.finditer(line):
        if is_holiday(int(match.group(2)), MONTHS[match.group(1).lower()], match.group(3)):
            found.append(match.group(0))
    for match in ISO_DATE.finditer(line):
        if 1 <= int(match.group(2)) <= 12 and is_holiday(int(match.group(3)), int(match.group(2)), match.group(1)):
            found.append(match.group(0))
    return found


# -- typed provider facts ------------------------------------------------------------------------

# The placeholders whose value must never be typed: company facts, not the example domain and
# address (a guide may well show "voorbeeld.nl" in a sentence about the customer's own domain).
FACT_PLACEHOLDERS = (
    "imap_host", "pop3_host", "smtp_host", "ftp_host", "server_host", "panel_url", "webmail_url", "status_url",
    "imap_port", "imap_port_starttls", "pop3_port", "pop3_port_starttls", "smtp_port_ssl", "smtp_port_starttls",
    "ftp_port", "sftp_port", "passive_ports", "support_open", "support_close", "response_days_technical",
    "response_days_administrative", "managed_price", "mailbox_quota", "max_message_size", "sending_limit",
)
DAY_WORDS = r"\s*(?:werkdag(?:en)?|kalenderdag(?:en)?|dag(?:en)?|working days?|calendar days?|days?)\b"


def fact_pattern(name: str, value: str) -> re.Pattern | None:
    """Return how a fact's value looks when someone types it, or None when it has no value."""
    value = value.strip()
    if not value:
        return None
    if name.startswith("response_days"):  # "3" alone is any number; "3 werkdagen" is the promise
        return re.compile(rf"(?<![\d.,]){re.escape(value)}{DAY_WORDS}", re.I)
    if re.fullmatch(r"\d{1,2}:\d{2}", value):  # 09:00 is also typed as 9:00, 9.00 or 09.00
        hours, minutes = value.split(":")
        return re.compile(rf"(?<![\d.:])0?{int(hours)}[:.]{minutes}(?![\d])")
    if value.isdigit():  # a port: the number on its own
        return re.compile(rf"(?<![\d.,:/-]){value}(?![\d]|[.,:]\d)")
    price = re.fullmatch(r"€\s*(\d+)(?:[,.]\d+)?", value)
    if price:
        amount = price.group(1)
        return re.compile(rf"€\s*{amount}(?![\d])|(?<![\d.,]){amount}(?:[,.]\d\d)?\s*euro", re.I)
    amount_unit = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*([A-Za-z]+)", value)
    if amount_unit:  # 5 GB, also typed 5GB
        return re.compile(rf"(?<![\d.,]){re.escape(amount_unit.group(1))}\s*{re.escape(amount_unit.group(2))}\b", re.I)
    if re.fullmatch(r"\d+\s*-\s*\d+", value):  # a port range
        low, high = re.split(r"\s*-\s*", value)
        return re.compile(rf"(?<!\d){low}\s*[-–]\s*{high}(?!\d)")
    bare = re.sub(r"^https?://", "", value).rstrip("/")  # a URL is typed with or without https://
    return re.compile(rf"(?<![\w.-]){re.escape(bare)}(?![\w-])", re.I)


# -- the content checks --------------------------------------------------------------------------

def check_wording(article: Article, store: ArticleStore, terms: dict[str, list[Term]]) -> list[ContentError]:
    """Check the words and typed facts of one article: terminology, holidays, placeholder values, the next step."""
    problems: list[ContentError] = []
    path, lang = article.path, article.lang

    def problem(line: int, message: str) -> None:
        problems.append(ContentError(path, line, message))

    lines = list(body_lines(article))
    for field_name, text in (("title", article.title), ("summary", article.summary)):
        for term in terms.get(lang, []):
            if term.pattern.search(prose(text)):
                problem(2, f"{field_name}: write {term.preferred!r}, not {term.forbidden!r} (content/terminology.yaml)")
    values = store.placeholder_values(lang)
    facts = [(name, fact_pattern(name, values.get(name, ""))) for name in FACT_PLACEHOLDERS]
    facts = [(name, pattern) for name, pattern in facts if pattern is not None]
    for lineno, line in lines:
        text = prose(line)
        for term in terms.get(lang, []):
            if term.pattern.search(text):
                problem(lineno, f"write {term.preferred!r}, not {term.forbidden!r} (content/terminology.yaml; "
                                "a client's own label quoted in **bold** is exempt)")
        for typed in typed_holiday_dates(text):
            problem(lineno, f"a holiday date typed in the text ({typed!r}): which days support is closed comes from "
                            "the support calendar; write {{closed_days}} on a line of its own, or link to a:support-hours")
        plain = PLACEHOLDER.sub(" ", re.sub(r"\]\([^)]*\)", "]", line))  # bold labels count: a port is a port
        for name, pattern in facts:
            match = pattern.search(plain)
            if match:
                problem(lineno, f"{match.group(0).strip()!r} is typed: write {{{{{name}}}}} (content/provider.yaml), "
                                "so the article follows when the value changes")
    problems.extend(holiday_lists(article, lines))
    problems.extend(check_sections(article, lines))
    return problems


def holiday_lists(article: Article, lines: list[tuple[int, str]]) -> list[ContentError]:
    """Report a paragraph, list or table that names two or more holidays: a typed list of the days support closes."""
    problems = []
    named: dict[str, int] = {}
    for lineno, line in lines + [(0, "")]:
        if not line.strip():
            if len(named) >= 2:
                problems.append(ContentError(article.path, min(named.values()), (
                    "a list of holidays typed in the text: which days support is closed comes from the support "
                    "calendar (a setting); write {{closed_days}} on a line of its own, or link to a:support-hours")))
            named = {}
            continue
        for match in HOLIDAY_NAME.finditer(prose(line)):
            named.setdefault(match.lastgroup, lineno)
    return problems


def check_sections(article: Article, lines: list[tuple[int, str]]) -> list[ContentError]:
    """Check the headings: the last ## section is the next step with an ask: link; "See also" is called that."""
    problems = []
    path, lang = article.path, article.lang
    sections = [(lineno, line) for lineno, line in lines if line.startswith("## ")]
    for lineno, line in sections + [(n, l) for n, l in lines if HEADING.match(l) and not l.startswith("## ")]:
        title = re.sub(r"\s*\{#[^}]*\}\s*$", "", HEADING.match(line).group(2)).strip()
        if any(title.lower() == wrong.lower() for wrong in WRONG_RELATED_HEADINGS.get(lang, ())):
            problems.append(ContentError(path, lineno, f"call this heading {RELATED_HEADINGS[lang]!r} "
                                                       f"(## {RELATED_HEADINGS[lang]} {{#related}}), not {title!r}"))
        elif line.rstrip().endswith("{#related}") and title != RELATED_HEADINGS[lang]:
            problems.append(ContentError(path, lineno, f"the {{#related}} heading is {RELATED_HEADINGS[lang]!r}, not {title!r}"))
    example = {"nl": "## Volgende stap {#next-step}", "en": "## Next step {#next-step}"}[lang]
    if not sections or not sections[-1][1].rstrip().endswith(NEXT_STEP_ANCHOR):
        line = sections[-1][0] if sections else article.body_line
        problems.append(ContentError(path, line, (
            f"the last ## section must be the next step ({example}): what to try, and when and how to ask us "
            "with [ask us](ask:); 'See also' comes before it")))
        return problems
    start = sections[-1][0]
    if not any(ASK_LINK.search(line) for lineno, line in lines if lineno > start):
        problems.append(ContentError(path, start, "the next-step section has no link to the question form: "
                                                  "add [stel ons uw vraag](ask:) / [ask us](ask:)"))
    return problems


def check_verified(article: Article) -> list[ContentError]:
    """A client guide names the vendor documentation its steps were checked against."""
    clients = [client for client in article.applies_to if client != "general"]
    if clients and not article.verified:
        return [ContentError(article.path, 2, (
            f"a client guide ({', '.join(clients)}) needs a 'verified' line in the front matter, e.g. "
            "verified: \"2026-11 against <the vendor page you checked the steps against>\""))]
    return []
