"""Triage: decide what happens to a customer's question, using the rules in content/triage.yaml.

The outcomes follow the SLA: email and FTP program setup is answered by the guides
(``client_setup``), the customer's own scripts get documentation links (``script``), EPP codes,
tokens and ending a service are done in Mijn Web://Xtra (``self_service``), and everything else
becomes a ``ticket``, technical or administrative.

The decision is deterministic and explainable: every rule list that matches adds its weight to one
outcome, and the words it matched become the reasons shown to the customer. A server-problem signal
or weak evidence always gives a ticket, because turning away a real server problem is the worst
mistake the triage can make. The rules are data; they are read again when the file changes.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _

from .content import APPLIES_TO, CLIENT_IDS, LANGUAGES, Article, ArticleStore

log = logging.getLogger(__name__)

RULES_FILE = "triage.yaml"
VERDICTS = ("client_setup", "script", "self_service", "ticket")
TICKET_KINDS = ("technical", "administrative")
# On equal scores the narrower outcome wins: "PHPMailer via your SMTP server" is about a script.
TIE_ORDER = {"self_service": 3, "script": 2, "client_setup": 1}
MAX_GUIDES = 3
MAX_ARTICLES = 5
MAX_QUOTED = 3

WORD = re.compile(r"\w+(?:['’]\w+)*")
TERM_WORD = re.compile(r"[\w*]+(?:['’][\w*]+)*")


class RulesError(Exception):
    """The rules file cannot be used; the message says where."""


# -- text --------------------------------------------------------------------------------------


def fold(word: str) -> str:
    """Return a word without case, accents or apostrophes: "Beëindigen" -> "beeindigen", "m'n" -> "mn"."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("'", "").replace("’", "")


@dataclass(frozen=True)
class Token:
    text: str  # folded
    start: int  # character offsets in the original text
    end: int


def _apply_spellings(words: list, spellings: dict[tuple[str, ...], str], text_of, merge) -> list:
    """Replace written forms by their canonical word, longest form first."""
    longest = max((len(form) for form in spellings), default=0)
    result, i = [], 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            form = tuple(text_of(w) for w in words[i:i + size])
            if form in spellings:
                result.append(merge(words[i:i + size], spellings[form]))
                i += size
                break
        else:
            result.append(words[i])
            i += 1
    return result


def tokenize(text: str, spellings: dict[tuple[str, ...], str]) -> list[Token]:
    """Split a question into folded words with their place in the original text."""
    text = text.replace("_", " ")
    tokens = []
    for m in WORD.finditer(text):
        token = Token(fold(m.group()), m.start(), m.end())
        # "e-mailadres" is one word, not "e" and "mailadres"
        if tokens and tokens[-1].text == "e" and token.text.startswith("mail") and text[m.start() - 1] == "-" \
                and tokens[-1].end == m.start() - 1:
            token = Token("e" + token.text, tokens.pop().start, token.end)
        tokens.append(token)
    return _apply_spellings(
        tokens, spellings, lambda t: t.text,
        lambda run, canonical: Token(canonical, run[0].start, run[-1].end),
    )


# -- terms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One word of a term: exact, or with * at its start and/or end."""

    word: str
    prefix: bool = False  # "instell*"
    suffix: bool = False  # "*instellen"

    def matches(self, token: str, fuzzy_from: int | None) -> bool:
        if self.prefix and self.suffix:
            return self.word in token
        if self.prefix:
            return token.startswith(self.word)
        if self.suffix:
            return token.endswith(self.word)
        if token == self.word:
            return True
        return (
            fuzzy_from is not None
            and len(self.word) >= fuzzy_from
            and len(token) >= fuzzy_from
            and token[0] == self.word[0]
            and _one_typo(self.word, token)
        )


def _one_typo(a: str, b: str) -> bool:
    """Return True when b is a with one letter added, dropped, changed or two letters swapped."""
    if abs(len(a) - len(b)) > 1:
        return False
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)] <= 1


@dataclass(frozen=True)
class Term:
    """A rule term as an editor wrote it, compiled into segments of pieces ("a ... b" has two)."""

    source: str
    segments: tuple[tuple[Piece, ...], ...]

    @classmethod
    def compile(cls, source: str, spellings: dict[tuple[str, ...], str]) -> "Term":
        segments = []
        for part in str(source).replace("_", " ").split("..."):
            pieces = []
            for word in TERM_WORD.findall(part):
                if "*" in word:
                    core = fold(word.strip("*"))
                    if not core or "*" in core:
                        raise ValueError(f"term {source!r}: * may only stand at the start or end of a word")
                    pieces.append(Piece(core, prefix=word.endswith("*"), suffix=word.startswith("*")))
                else:
                    pieces.append(Piece(fold(word)))
            pieces = _apply_spellings(
                pieces, spellings,
                lambda p: None if (p.prefix or p.suffix) else p.word,
                lambda run, canonical: Piece(canonical),
            )
            if not pieces:
                raise ValueError(f"term {source!r} has an empty part")
            segments.append(tuple(pieces))
        return cls(str(source), tuple(segments))

    def find(self, tokens: list[Token], window: int, fuzzy_from: int | None,
             positions: dict[str, list[int]] | None = None) -> tuple[int, int] | None:
        """Return the (first, last + 1) token positions of the first match, or None.

        positions (word -> where it occurs) lets a term skip questions that lack one of its exact words.
        """
        first, rest = self.segments[0], self.segments[1:]
        starts = range(len(tokens) - len(first) + 1)
        if positions is not None:
            exact = [p.word for segment in self.segments for p in segment
                     if not (p.prefix or p.suffix) and (fuzzy_from is None or len(p.word) < fuzzy_from)]
            if any(word not in positions for word in exact):
                return None
            lead = first[0]
            if not (lead.prefix or lead.suffix) and (fuzzy_from is None or len(lead.word) < fuzzy_from):
                starts = positions[lead.word]
        for i in starts:
            if i > len(tokens) - len(first) or not self._at(first, tokens, i, fuzzy_from):
                continue
            end = i + len(first)
            for segment in rest:
                for j in range(end, min(end + window, len(tokens) - len(segment)) + 1):
                    if self._at(segment, tokens, j, fuzzy_from):
                        end = j + len(segment)
                        break
                else:
                    break
            else:
                return i, end
        return None

    @staticmethod
    def _at(segment, tokens, i, fuzzy_from) -> bool:
        return all(piece.matches(tokens[i + k].text, fuzzy_from) for k, piece in enumerate(segment))


@dataclass(frozen=True)
class Match:
    """Where a term matched: the customer's own words, for the reasons."""

    term: str
    start: int  # token positions
    end: int
    words: str  # the original text of the match


@dataclass
class TermList:
    """A list of terms (both languages), with its weight and options."""

    name: str
    terms: list[Term]
    weight: int = 0
    max_count: int = 1
    excepts: list[Term] = field(default_factory=list)
    fuzzy: bool = False
    article: str | None = None

    def find(self, doc: "Document") -> list[Match]:
        """Return every term that matches, in the order of the text; matches inside an except are dropped."""
        fuzzy_from = doc.rules.fuzzy_min_length if self.fuzzy else None
        blocked = []
        for term in self.excepts:
            span = term.find(doc.tokens, doc.rules.window, None, doc.positions)
            if span:
                blocked.append(span)
        found = {}
        for term in self.terms:
            span = term.find(doc.tokens, doc.rules.window, fuzzy_from, doc.positions)
            if span and span not in found and not any(span[0] < b[1] and b[0] < span[1] for b in blocked):
                found[span] = Match(term.source, span[0], span[1], doc.words(*span))
        return sorted(found.values(), key=lambda m: (m.start, m.end))

    def score(self, matches: list[Match]) -> int:
        """Return weight times the number of distinct matches, at most max_count.

        Overlapping matches count once: "contact form" and "form" are one piece of evidence.
        """
        distinct, taken = set(), []
        for match in sorted(matches, key=lambda m: (m.start, -m.end)):
            if any(match.start < end and start < match.end for start, end in taken):
                continue
            taken.append((match.start, match.end))
            distinct.add(match.words.casefold())
        return self.weight * min(len(distinct), self.max_count)


# -- the rules ---------------------------------------------------------------------------------


@dataclass
class Client:
    id: str
    names: TermList
    devices: TermList


@dataclass
class Technology:
    id: str
    terms: TermList
    docs: list[dict]


class Rules:
    """The compiled contents of triage.yaml."""

    def __init__(self, data: dict, source: str = RULES_FILE):
        self.source = source
        if not isinstance(data, dict):
            raise RulesError(f"{source}: the file must be a mapping of sections")
        settings = self._mapping(data, "settings")
        self.min_score = self._int(settings, "min_score", "settings")
        self.margin = self._int(settings, "margin", "settings")
        self.window = self._int(settings, "window", "settings")
        self.fuzzy_min_length = self._int(settings, "fuzzy_min_length", "settings")

        self.spellings: dict[tuple[str, ...], str] = {}
        for canonical, forms in (data.get("spellings") or {}).items():
            if not isinstance(forms, list):
                raise RulesError(f"{source}: spellings.{canonical} must be a list of written forms")
            for form in forms:
                key = tuple(fold(w) for w in WORD.findall(str(form).replace("_", " ")))
                if key:
                    self.spellings[key] = fold(str(canonical))

        server = self._mapping(data, "server_problem")
        self.server_phrases = self.term_list(server.get("phrases"), "server_problem.phrases")
        self.server_combinations = []
        for n, combination in enumerate(server.get("combinations") or []):
            if not isinstance(combination, list) or len(combination) < 2:
                raise RulesError(f"{source}: server_problem.combinations[{n}] must be a list of two or more lists")
            self.server_combinations.append([
                self.term_list(part, f"server_problem.combinations[{n}][{k}]") for k, part in enumerate(combination)
            ])
        self.always_ticket = self.term_list(data.get("always_ticket"), "always_ticket")

        self.administrative = self.term_list(data.get("administrative"), "administrative")
        technical = self._mapping(data, "technical")
        self.technical = [self.term_list(technical.get(name), f"technical.{name}") for name in technical]

        setup = self._mapping(data, "client_setup")
        weights = setup.get("weights") or {}
        self.clients = []
        for client_id, spec in self._mapping(setup, "clients", "client_setup").items():
            if client_id not in APPLIES_TO:
                raise RulesError(f"{source}: client_setup.clients.{client_id}: unknown applies_to id "
                                 f"(known: {', '.join(sorted(APPLIES_TO))})")
            where = f"client_setup.clients.{client_id}"
            options = {"weight": weights.get("client", 3), "fuzzy": spec.get("fuzzy", False),
                       "except": spec.get("except", [])}
            self.clients.append(Client(
                client_id,
                self.term_list({**(spec.get("names") or {}), **options}, f"{where}.names"),
                self.term_list({**(spec.get("devices") or {}), **options}, f"{where}.devices"),
            ))
        self.setup = self.term_list(setup.get("setup"), "client_setup.setup", weights.get("setup", 2))
        self.settings = self.term_list(setup.get("settings"), "client_setup.settings", weights.get("settings", 1))
        self.device_hints = self.term_list(setup.get("device_hints"), "client_setup.device_hints",
                                           weights.get("device_hint", 2))
        self.troubleshooting = [
            self.term_list(spec, f"client_setup.troubleshooting[{n}]", weights.get("troubleshooting", 2))
            for n, spec in enumerate(setup.get("troubleshooting") or [])
        ]
        self.email_words = self.term_list(setup.get("email_words"), "client_setup.email_words")
        self.ftp_words = self.term_list(setup.get("ftp_words"), "client_setup.ftp_words")
        self.general_articles = dict(setup.get("general_articles") or {})
        if set(self.general_articles) != {"email", "ftp"}:
            raise RulesError(f"{source}: client_setup.general_articles needs an article for email and for ftp")

        script = self._mapping(data, "script")
        script_weights = script.get("weights") or {}
        self.technologies = []
        for tech_id, spec in self._mapping(script, "technologies", "script").items():
            where = f"script.technologies.{tech_id}"
            terms = self.term_list(spec, where, script_weights.get("technology", 4))
            self.technologies.append(Technology(str(tech_id), terms, self._links(spec.get("docs"), f"{where}.docs")))
        self.script_words = self.term_list(script.get("script_words"), "script.script_words",
                                           script_weights.get("script_words", 2))
        self.script_blocked_by = self.term_list(script.get("blocked_by"), "script.blocked_by")
        self.script_articles = [str(a) for a in script.get("articles") or []]
        self.forums = self._links(script.get("forums"), "script.forums")
        known_technologies = {t.id for t in self.technologies}
        self.default_technologies = [str(t) for t in script.get("default_technologies") or []]
        unknown = [t for t in self.default_technologies if t not in known_technologies]
        if unknown:
            raise RulesError(f"{source}: script.default_technologies: unknown technology {unknown[0]!r}")

        self_service = self._mapping(data, "self_service")
        self.self_service_topics = [
            self.term_list(spec, f"self_service.topics.{topic}", self_service.get("weight", 4), name=str(topic))
            for topic, spec in self._mapping(self_service, "topics", "self_service").items()
        ]
        self.self_service_blocked_by = self.term_list(self_service.get("blocked_by"), "self_service.blocked_by")
        self.self_service_blocked_kind = self_service.get("blocked_kind", "administrative")
        if self.self_service_blocked_kind not in TICKET_KINDS:
            raise RulesError(f"{source}: self_service.blocked_kind must be technical or administrative")

        several = data.get("several_questions") or {}
        self.markers = self.term_list(several.get("markers"), "several_questions.markers")

    # -- reading helpers --

    def _mapping(self, data: dict, key: str, parent: str = "") -> dict:
        value = data.get(key)
        if not isinstance(value, dict):
            raise RulesError(f"{self.source}: {parent + '.' if parent else ''}{key} is missing or not a mapping")
        return value

    def _int(self, data: dict, key: str, parent: str) -> int:
        value = data.get(key)
        if not isinstance(value, int) or value < 0:
            raise RulesError(f"{self.source}: {parent}.{key} must be a whole number of 0 or more")
        return value

    def _links(self, value, where: str) -> list[dict]:
        links = []
        for n, link in enumerate(value or []):
            if not isinstance(link, dict) or "title" not in link or "url" not in link:
                raise RulesError(f"{self.source}: {where}[{n}] needs a title and a url")
            for part in ("title", "url"):
                texts = link[part] if isinstance(link[part], dict) else {lang: link[part] for lang in LANGUAGES}
                for lang in LANGUAGES:
                    if not isinstance(texts.get(lang), str):
                        raise RulesError(f"{self.source}: {where}[{n}].{part} needs a text for {lang}")
                if part == "url" and not all(u.startswith("https://") for u in texts.values()):
                    raise RulesError(f"{self.source}: {where}[{n}].url must start with https://")
            links.append({part: link[part] if isinstance(link[part], dict) else {lang: link[part] for lang in LANGUAGES}
                          for part in ("title", "url")})
        return links

    def term_list(self, spec, where: str, weight: int | None = None, name: str | None = None) -> TermList:
        """Compile {nl: [...], en: [...], weight, max_count, except, fuzzy, article} into a TermList."""
        if spec is None:
            raise RulesError(f"{self.source}: {where} is missing")
        if not isinstance(spec, dict):
            raise RulesError(f"{self.source}: {where} must be a mapping with nl and en lists")
        sources = []
        for lang in LANGUAGES:
            words = spec.get(lang, [])
            if not isinstance(words, list):
                raise RulesError(f"{self.source}: {where}.{lang} must be a list of words or phrases")
            sources.extend(words)
        excepts = spec.get("except", [])
        if not isinstance(excepts, list):
            raise RulesError(f"{self.source}: {where}.except must be a list")
        try:
            terms = [Term.compile(s, self.spellings) for s in sources]
            except_terms = [Term.compile(s, self.spellings) for s in excepts]
        except ValueError as exc:
            raise RulesError(f"{self.source}: {where}: {exc}") from None
        weight = spec.get("weight", weight or 0)
        max_count = spec.get("max_count", 1)
        if not isinstance(weight, int) or not isinstance(max_count, int) or max_count < 1:
            raise RulesError(f"{self.source}: {where}: weight and max_count must be whole numbers")
        article = spec.get("article")
        return TermList(name or where, terms, weight, max_count, except_terms, bool(spec.get("fuzzy")),
                        str(article) if article else None)

    def document(self, text: str) -> "Document":
        return Document(self, text)

    def article_ids(self) -> set[str]:
        """Return every article id the rules point to, for checking them against the content."""
        ids = set(self.general_articles.values()) | set(self.script_articles)
        ids |= {t.article for t in self.troubleshooting + self.self_service_topics if t.article}
        if self.always_ticket.article:
            ids.add(self.always_ticket.article)
        return ids


class Document:
    """A question, split into words once, with the matches of every rule list cached."""

    def __init__(self, rules: Rules, text: str):
        self.rules = rules
        self.text = text.replace("_", " ")
        self.tokens = tokenize(text, rules.spellings)
        self.positions: dict[str, list[int]] = {}
        for i, token in enumerate(self.tokens):
            self.positions.setdefault(token.text, []).append(i)
        self._found: dict[int, list[Match]] = {}

    def words(self, first: int, end: int) -> str:
        snippet = self.text[self.tokens[first].start:self.tokens[end - 1].end]
        snippet = re.sub(r"\s+", " ", snippet).strip()
        return snippet if len(snippet) <= 60 else snippet[:57].rstrip() + "..."

    def find(self, terms: TermList) -> list[Match]:
        key = id(terms)
        if key not in self._found:
            self._found[key] = terms.find(self)
        return self._found[key]


# -- loading, with a reload when the file changes ---------------------------------------------

_loaded: dict[Path, tuple[tuple[int, int], Rules]] = {}
_load_lock = threading.Lock()


def load_rules(content_dir) -> Rules:
    """Return the rules of content_dir/triage.yaml, read again when the file changed.

    A broken file is logged and the last good rules stay in use; without good rules RulesError is raised.
    """
    path = Path(content_dir) / RULES_FILE
    try:
        stat = path.stat()
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the triage rules ({exc.strerror})") from None
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _loaded.get(path)
    if cached and cached[0] == key:
        return cached[1]
    with _load_lock:
        cached = _loaded.get(path)
        if cached and cached[0] == key:
            return cached[1]
        try:
            with path.open(encoding="utf-8") as fh:
                data = yaml.safe_load(fh)
            rules = Rules(data, str(path))
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
            error = RulesError(f"{path}: not valid YAML: {exc}")
        except RulesError as exc:
            error = exc
        else:
            _loaded[path] = (key, rules)
            return rules
        log.error("triage rules not reloaded: %s", error)
        if cached:
            _loaded[path] = (key, cached[1])  # do not parse the broken file again on every question
            return cached[1]
        raise error


def check_rules(store: ArticleStore) -> list[str]:
    """Return the problems of the triage rules of a content folder: unreadable, or unknown articles."""
    try:
        path = Path(store.content_dir) / RULES_FILE
        with path.open(encoding="utf-8") as fh:
            rules = Rules(yaml.safe_load(fh), str(path))
    except (OSError, yaml.YAMLError, RulesError) as exc:
        return [str(exc)]
    known = store.all_ids()
    return [f"{rules.source}: unknown article id {article_id!r}"
            for article_id in sorted(rules.article_ids() - known)]


# -- deciding ----------------------------------------------------------------------------------


@dataclass
class Decision:
    """What happens to a question, and why."""

    verdict: str
    ticket_kind: str | None = None
    topic: str | None = None
    articles: list[Article] = field(default_factory=list)
    doc_links: list[dict] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    several_questions: bool = False
    scores: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # rule list -> the customer's words

    @property
    def turned_away(self) -> bool:
        """Return True when the customer is not offered a ticket."""
        return self.verdict != "ticket"


@dataclass
class Evidence:
    """Everything the rules found in one question."""

    matches: dict[str, list[Match]] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)
    clients: list[tuple[str, int]] = field(default_factory=list)  # (client id, position) in text order
    technologies: list[tuple[Technology, int]] = field(default_factory=list)
    self_topics: list[tuple[TermList, int]] = field(default_factory=list)
    troubleshooting: list[TermList] = field(default_factory=list)

    def add(self, name: str, found: list[Match]) -> None:
        if found:
            self.matches.setdefault(name, []).extend(found)

    def words(self, *names: str) -> list[str]:
        seen = []
        for name in names:
            for match in self.matches.get(name, []):
                if match.words.casefold() not in (w.casefold() for w in seen):
                    seen.append(match.words)
        return seen


def gather(rules: Rules, doc: Document) -> Evidence:
    """Match every rule list against a question and add up the scores."""
    ev = Evidence()
    ev.add("server_problem", doc.find(rules.server_phrases))
    for combination in rules.server_combinations:
        parts = [doc.find(part) for part in combination]
        if all(parts):
            ev.add("server_problem", [m for part in parts for m in part[:1]])
    ev.add("always_ticket", doc.find(rules.always_ticket))

    administrative = doc.find(rules.administrative)
    ev.add("administrative", administrative)
    technical = 0
    for terms in rules.technical:
        found = doc.find(terms)
        ev.add(terms.name, found)
        technical += terms.score(found)
    ev.scores["administrative"] = rules.administrative.score(administrative)
    ev.scores["technical"] = technical

    # client_setup: a program's name beats a device ("Thunderbird on my Mac")
    named, devices = [], []
    for client in rules.clients:
        by_name, by_device = doc.find(client.names), doc.find(client.devices)
        if by_name:
            named.append((client.id, by_name[0].start, by_name))
        elif by_device:
            devices.append((client.id, by_device[0].start, by_device))
    chosen = sorted(named or devices, key=lambda c: c[1])
    ev.clients = [(client_id, start) for client_id, start, _found in chosen]
    for _id, _start, found in chosen:
        ev.add("client", found)
    score = rules.clients[0].names.weight if chosen else 0
    for terms, name in ((rules.setup, "setup"), (rules.settings, "settings"), (rules.device_hints, "device_hint")):
        found = doc.find(terms)
        ev.add(name, found)
        score += terms.score(found)
    trouble_score = 0
    for terms in rules.troubleshooting:
        found = doc.find(terms)
        if found:
            ev.troubleshooting.append(terms)
            ev.add("troubleshooting", found)
            trouble_score = max(trouble_score, terms.score(found))
    ev.scores["client_setup"] = score + trouble_score

    # script
    tech_score = 0
    for technology in rules.technologies:
        found = doc.find(technology.terms)
        if found:
            ev.technologies.append((technology, found[0].start))
            ev.add("technology", found)
            tech_score = max(tech_score, technology.terms.score(found))
    ev.technologies.sort(key=lambda t: t[1])
    script_words = doc.find(rules.script_words)
    ev.add("script_words", script_words)
    ev.scores["script"] = tech_score + rules.script_words.score(script_words)
    ev.add("script_blocked", doc.find(rules.script_blocked_by))

    # self_service
    self_score = 0
    for topic in rules.self_service_topics:
        found = doc.find(topic)
        if found:
            ev.self_topics.append((topic, found[0].start))
            ev.add("self_service", found)
            self_score = max(self_score, topic.score(found))
    ev.self_topics.sort(key=lambda t: t[1])
    ev.scores["self_service"] = self_score
    ev.add("self_service_blocked", doc.find(rules.self_service_blocked_by))
    return ev


def quoted(words: list[str]) -> str:
    """Return the customer's words as “a”, “b”, “c” for a reason."""
    return ", ".join(f"“{w}”" for w in words[:MAX_QUOTED])


def classify(text: str, lang: str, store: ArticleStore, search_index=None) -> Decision:
    """Decide what happens to a question: guides, documentation links, self-service or a ticket."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    with force_locale(lang):
        try:
            rules = load_rules(_content_dir(store))
        except RulesError as exc:
            log.error("triage without rules, the question becomes a ticket: %s", exc)
            return Decision("ticket", "technical", reasons=[
                _("Our Customer Support Team will look at your question."),
            ])
        return _decide(rules, rules.document(text), lang, store, search_index)


def _decide(rules: Rules, doc: Document, lang: str, store: ArticleStore, search_index) -> Decision:
    ev = gather(rules, doc)
    several = _several_questions(rules, doc.text)
    scores = dict(ev.scores)
    evidence = {name: [m.words for m in found] for name, found in ev.matches.items()}

    def ticket(kind: str, reasons: list[str], articles: list[Article] | None = None) -> Decision:
        return Decision("ticket", kind, None, articles or [], [], reasons, several, scores, evidence)

    def kind(extra_admin: int = 0, extra_technical: int = 0) -> str:
        administrative = scores["administrative"] + extra_admin
        technical = scores["technical"] + extra_technical
        return "administrative" if administrative > technical else "technical"

    def ticket_reasons(chosen_kind: str) -> list[str]:
        if chosen_kind == "administrative" and ev.words("administrative"):
            return [_("It looks like an administrative question (%(words)s): our Customer Support Team "
                      "answers it.", words=quoted(ev.words("administrative")))]
        service_words = ev.words("technical.services", "technical.delivery")
        if service_words:
            return [_("It is a question about our services (%(words)s): our Customer Support Team answers it.",
                      words=quoted(service_words))]
        return [_("Your question does not clearly match a subject we answer online, so our Customer Support "
                  "Team will look at it.")]

    # 1. A possible server problem is never turned away.
    if ev.matches.get("server_problem"):
        return ticket("technical", [
            _("You mention %(words)s. That can point to a problem on our servers, so our Customer Support "
              "Team will look at it.", words=quoted(ev.words("server_problem"))),
        ])
    if ev.matches.get("always_ticket"):
        articles = _articles(store, lang, [rules.always_ticket.article] if rules.always_ticket.article else [])
        chosen = kind()
        return ticket(chosen, [
            _("You mention %(words)s: our Customer Support Team answers these questions personally.",
              words=quoted(ev.words("always_ticket"))),
        ], articles)

    # 2. The best answer that needs no ticket, if the evidence for it is strong enough.
    blocked = {}
    if ev.matches.get("self_service_blocked") and scores["self_service"]:
        blocked["self_service"] = ev.words("self_service_blocked")
    if ev.matches.get("script_blocked") and scores["script"]:
        blocked["script"] = ev.words("script_blocked")
    candidates = [v for v in ("self_service", "script", "client_setup") if v not in blocked]
    best = max(candidates, key=lambda v: (scores[v], TIE_ORDER[v]))
    ticket_evidence = max(scores["administrative"], scores["technical"])
    strongest_blocked = max(blocked, key=lambda v: scores[v], default=None)

    if strongest_blocked and scores[strongest_blocked] >= scores[best]:
        if strongest_blocked == "self_service":
            chosen = kind(**{("extra_admin" if rules.self_service_blocked_kind == "administrative"
                              else "extra_technical"): scores["self_service"]})
            reason = _("You mention %(words)s, so this is not something you can arrange yourself: our Customer "
                       "Support Team will look at it.", words=quoted(blocked["self_service"]))
        else:
            chosen = kind(extra_technical=scores["script"])
            reason = _("You mention %(words)s: that is a setting of our servers rather than of your own script, "
                       "so our Customer Support Team will answer it.", words=quoted(blocked["script"]))
        return ticket(chosen, [reason])
    if several and ticket_evidence >= rules.min_score:
        chosen = kind()
        return ticket(chosen, [
            _("You ask several things at once, and at least one of them needs our Customer Support Team."),
            *ticket_reasons(chosen),
        ])
    if scores[best] < rules.min_score or scores[best] < ticket_evidence + rules.margin:
        return ticket(kind(), ticket_reasons(kind()))

    # 3. No ticket: say why, and give the way forward.
    override = _("Do you believe the problem is on our servers after all? Then you can still create a ticket.")
    if best == "client_setup":
        return _client_setup(rules, ev, doc, lang, store, search_index, several, scores, evidence, override)
    if best == "script":
        technologies = [t for t, _start in ev.technologies]
        words = ev.words("technology") or ev.words("script_words")
        return Decision(
            "script", None, technologies[0].id if technologies else None,
            _articles(store, lang, rules.script_articles), script_links(rules, lang, technologies),
            [_("You mention %(words)s: our helpdesk does not support setting up or using your own scripts "
               "(.htaccess, PHP, Perl and so on). The documentation and forum below can help you further.",
               words=quoted(words)), override],
            several, scores, evidence,
        )
    panel = store.placeholder_values(lang).get("panel_name", "Mijn Web://Xtra")
    return Decision(
        "self_service", None, None,
        _articles(store, lang, [topic.article for topic, _start in ev.self_topics if topic.article]), [],
        [_("You mention %(words)s: you can arrange this yourself in %(panel)s, 24 hours a day. The article "
           "below shows how.", words=quoted(ev.words("self_service")), panel=panel)],
        several, scores, evidence,
    )


def _client_setup(rules, ev, doc, lang, store, search_index, several, scores, evidence, override) -> Decision:
    clients = [client_id for client_id, _start in ev.clients]
    kinds = {client_id: kind for kind, ids in CLIENT_IDS.items() for client_id in ids}
    if clients:
        area = kinds.get(clients[0], "email")
        articles = []
        for client_id in clients[:MAX_GUIDES]:
            articles.extend(a for a in guides(store, client_id, lang) if a not in articles)
    else:
        email, ftp = len(doc.find(rules.email_words)), len(doc.find(rules.ftp_words))
        area = "ftp" if ftp > email else "email"
        articles = _articles(store, lang, [rules.general_articles[area]])
    for terms in ev.troubleshooting:
        article = store.best(terms.article, lang) if terms.article else None
        if article and article.category == area and article not in articles:
            articles.append(article)
    if not clients and len(articles) < 2 and search_index is not None:
        articles.extend(_search(search_index, store, doc.text, lang, area, exclude=articles))
    words = ev.words("client", "setup", "troubleshooting", "settings")
    return Decision(
        "client_setup", None, clients[0] if clients else None, articles[:MAX_ARTICLES], [],
        [_("You mention %(words)s: setting up and fixing email and FTP programs is supported online, "
           "with the guides on this site.", words=quoted(words)), override],
        several, scores, evidence,
    )


def script_links(rules: Rules, lang: str, technologies: list[Technology]) -> list[dict]:
    """Return [{"title", "url"}] in lang: the documentation of the technologies, then the forums.

    Without a technology, the documentation of the rules' default technologies (the SLA's .htaccess,
    PHP and Perl) is given.
    """
    if not technologies:
        technologies = [t for t in rules.technologies if t.id in rules.default_technologies]
    links, seen = [], set()
    for link in [doc for technology in technologies for doc in technology.docs] + rules.forums:
        url = link["url"][lang]
        if url not in seen:
            seen.add(url)
            links.append({"title": link["title"][lang], "url": url})
    return links


def default_doc_links(lang: str, store: ArticleStore | None = None) -> list[dict]:
    """Return the documentation and forum links for script questions in general, in lang."""
    try:
        rules = load_rules(_content_dir(store))
    except RulesError as exc:
        log.error("no documentation links without rules: %s", exc)
        return []
    return script_links(rules, lang, [])


def _content_dir(store: ArticleStore | None) -> Path:
    """Return the content folder: the store's, else the app's article store's."""
    if store is None and has_app_context():
        store = current_app.extensions["articles"]
    if store is None or store.content_dir is None:
        raise RulesError("no content folder: pass the article store")
    return Path(store.content_dir)


def guides(store: ArticleStore, client_id: str, lang: str) -> list[Article]:
    """Return the setup guide(s) of one program: articles for that program alone come first."""
    for language in (lang, *(other for other in LANGUAGES if other != lang)):
        found = [a for a in store.in_language(language) if client_id in a.applies_to]
        own = [a for a in found if "general" not in a.applies_to]
        if found:
            return own or found[:1]
    return []


def _articles(store: ArticleStore, lang: str, ids: list[str]) -> list[Article]:
    articles = []
    for article_id in ids:
        article = store.best(article_id, lang)
        if article and article not in articles:
            articles.append(article)
    return articles


def _search(search_index, store, text: str, lang: str, area: str, exclude: list[Article]) -> list[Article]:
    """Return up to two more articles of the area (email or ftp) that the search index finds."""
    from .search import QueryError  # the search module is optional here: classify runs without an index

    try:
        hits = search_index.search(text[:200], lang, limit=5, category=area, suggest=False).hits
    except (QueryError, FileNotFoundError):
        return []
    found = []
    for hit in hits:
        article = store.get(hit.lang, hit.id)
        if article and article not in exclude and article not in found:
            found.append(article)
    return found[:2]


# -- several questions in one ------------------------------------------------------------------

NUMBERED_ITEM = re.compile(r"(?:(?<=\s)|^)\(?\d{1,2}[.)]\s+")
SENTENCE_END = re.compile(r"[?!;\n]+|\.(?=\s|$)")


# A single sentence says less than a whole question: a lower bar tells what it is about.
SENTENCE_MIN_SCORE = 2


def _subjects(rules: Rules, sentence: str) -> set[str]:
    """Return the broad subjects a sentence is about: technical, administrative, script, self_service."""
    ev = gather(rules, rules.document(sentence))
    subjects = set()
    if (ev.matches.get("server_problem") or ev.scores["technical"] >= SENTENCE_MIN_SCORE
            or ev.scores["client_setup"] >= SENTENCE_MIN_SCORE):
        subjects.add("technical")  # a program and a server problem are often the same problem
    if ev.scores["administrative"]:
        subjects.add("administrative")
    if ev.scores["script"] >= SENTENCE_MIN_SCORE:
        subjects.add("script")
    if ev.scores["self_service"]:
        subjects.add("self_service")
    return subjects


def _several_questions(rules: Rules, text: str) -> bool:
    numbered = len(NUMBERED_ITEM.findall(text))
    question_marks = len(re.findall(r"\?+", text))
    marked = bool(rules.markers.find(rules.document(text)))
    if not (marked or numbered >= 2 or question_marks >= 2):
        return False
    sentences = SENTENCE_END.split(NUMBERED_ITEM.sub("\n", text))
    subjects = [s for s in (_subjects(rules, sentence) for sentence in sentences if sentence.strip()) if s]
    return any(not (a & b) for i, a in enumerate(subjects) for b in subjects[i + 1:])


def split_advice(text: str, lang: str, store: ArticleStore | None = None) -> bool:
    """Return True when a text asks several unrelated questions, so one ticket per question is advised.

    The rules come from the store's content folder (by default the app's article store).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    try:
        rules = load_rules(_content_dir(store))
    except RulesError as exc:
        log.error("no split advice without rules: %s", exc)
        return False
    return _several_questions(rules, text)
