"""The triage rules: content/triage.yaml, validated against its schema and compiled.

Every number the rules use lives in the data file, and nowhere else: the thresholds under
``settings`` and every weight under ``weights`` (one level: a rule list never carries a weight
of its own, so the weights can be read and compared in one place). A key the schema does not
know is an error with its place in the file, so a typo ("fuzy: true") cannot silently do nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import current_app, has_app_context

from ..content import APPLIES_TO, LANGUAGES, ArticleStore
from ..text import fold
from .text import INITIAL, WORD, Match, Term, TermList, tokenize

log = logging.getLogger(__name__)

RULES_FILE = "triage.yaml"
TICKET_KINDS = ("technical", "administrative")

# The schema: which keys each part of the file may have (LIST is a rule list).
SECTIONS = {"settings", "weights", "spellings", "server_problem", "always_ticket", "administrative", "technical",
            "client_setup", "script", "self_service", "several_questions"}
SETTINGS = ("min_score", "margin", "window", "fuzzy_min_length", "max_count")
WEIGHTS = ("administrative", "services", "problems", "delivery", "spam", "client", "setup", "settings", "device_hint",
           "troubleshooting", "technology", "script_words", "self_service")
LIST_KEYS = {"nl", "en", "max_count", "except", "fuzzy", "article"}
CLIENT_KEYS = {"names", "devices", "fuzzy", "except"}
TECHNOLOGY_KEYS = LIST_KEYS | {"docs"}
CLIENT_SETUP_KEYS = {"clients", "setup", "settings", "device_hints", "troubleshooting", "email_words", "ftp_words",
                     "general_articles", "compared"}
SCRIPT_KEYS = {"articles", "default_technologies", "technologies", "script_words", "blocked_by", "forums"}
SELF_SERVICE_KEYS = {"topics", "blocked_by", "blocked_kind"}


class RulesError(Exception):
    """The rules file cannot be used; the message says where."""


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
        self._keys(data, SECTIONS, "the file")
        settings = self._mapping(data, "settings")
        self._keys(settings, set(SETTINGS), "settings")
        for name in SETTINGS:
            setattr(self, name, self._int(settings, name, "settings"))
        weights = self._mapping(data, "weights")
        self._keys(weights, set(WEIGHTS), "weights")
        self.weights = {name: self._int(weights, name, "weights") for name in WEIGHTS}

        self.spellings: dict[tuple[str, ...], str] = {}
        spellings = data.get("spellings") or {}
        if not isinstance(spellings, dict):
            raise RulesError(f"{source}: spellings must be a mapping of word: [written forms]")
        for canonical, forms in spellings.items():
            if not isinstance(forms, list):
                raise RulesError(f"{source}: spellings.{canonical} must be a list of written forms")
            for form in forms:
                key = tuple(fold(w) for w in WORD.findall(str(form).replace("_", " ")))
                if key:
                    self.spellings[key] = fold(str(canonical))

        server = self._mapping(data, "server_problem")
        self._keys(server, {"phrases", "combinations", "own_changes", "article"}, "server_problem")
        self.server_article = str(server["article"]) if server.get("article") else None
        self.server_phrases = self.term_list(server.get("phrases"), "server_problem.phrases")
        self.server_combinations = []
        for n, combination in enumerate(server.get("combinations") or []):
            if not isinstance(combination, list) or len(combination) < 2:
                raise RulesError(f"{source}: server_problem.combinations[{n}] must be a list of two or more lists")
            self.server_combinations.append([
                self.term_list(part, f"server_problem.combinations[{n}][{k}]") for k, part in enumerate(combination)
            ])
        self.server_own_changes = self.term_list(server.get("own_changes"), "server_problem.own_changes")
        self.always_ticket = self.term_list(data.get("always_ticket"), "always_ticket")

        self.administrative = self.term_list(data.get("administrative"), "administrative", "administrative")
        technical = self._mapping(data, "technical")
        self._keys(technical, {"services", "problems", "delivery", "spam"}, "technical")
        self.technical = [self.term_list(technical.get(name), f"technical.{name}", name)
                          for name in technical]

        setup = self._mapping(data, "client_setup")
        self._keys(setup, CLIENT_SETUP_KEYS, "client_setup")
        self.clients = []
        for client_id, spec in self._mapping(setup, "clients", "client_setup").items():
            where = f"client_setup.clients.{client_id}"
            if client_id not in APPLIES_TO:
                raise RulesError(f"{source}: {where}: unknown applies_to id "
                                 f"(known: {', '.join(sorted(APPLIES_TO))})")
            if not isinstance(spec, dict):
                raise RulesError(f"{source}: {where} must be a mapping with names and/or devices")
            self._keys(spec, CLIENT_KEYS, where)
            options = {"fuzzy": spec.get("fuzzy", False), "except": spec.get("except", [])}
            for part in ("names", "devices"):
                if part in spec:
                    self._keys(spec[part] or {}, {"nl", "en"}, f"{where}.{part}")
            self.clients.append(Client(
                client_id,
                self.term_list({**(spec.get("names") or {}), **options}, f"{where}.names", "client"),
                self.term_list({**(spec.get("devices") or {}), **options}, f"{where}.devices", "client"),
            ))
        self.setup = self.term_list(setup.get("setup"), "client_setup.setup", "setup")
        self.settings = self.term_list(setup.get("settings"), "client_setup.settings", "settings")
        self.device_hints = self.term_list(setup.get("device_hints"), "client_setup.device_hints", "device_hint")
        self.troubleshooting = [
            self.term_list(spec, f"client_setup.troubleshooting[{n}]", "troubleshooting")
            for n, spec in enumerate(setup.get("troubleshooting") or [])
        ]
        self.email_words = self.term_list(setup.get("email_words"), "client_setup.email_words")
        self.compared = self.term_list(setup.get("compared", {}), "client_setup.compared")
        self.ftp_words = self.term_list(setup.get("ftp_words"), "client_setup.ftp_words")
        self.general_articles = dict(setup.get("general_articles") or {})
        if set(self.general_articles) != {"email", "ftp"}:
            raise RulesError(f"{source}: client_setup.general_articles needs an article for email and for ftp")

        script = self._mapping(data, "script")
        self._keys(script, SCRIPT_KEYS, "script")
        self.technologies = []
        for tech_id, spec in self._mapping(script, "technologies", "script").items():
            where = f"script.technologies.{tech_id}"
            if isinstance(spec, dict):
                self._keys(spec, TECHNOLOGY_KEYS, where)
            terms = self.term_list({k: v for k, v in (spec or {}).items() if k != "docs"}, where, "technology")
            self.technologies.append(Technology(str(tech_id), terms, self._links(spec.get("docs"), f"{where}.docs")))
        self.script_words = self.term_list(script.get("script_words"), "script.script_words", "script_words")
        self.script_blocked_by = self.term_list(script.get("blocked_by"), "script.blocked_by")
        self.script_articles = [str(a) for a in script.get("articles") or []]
        self.forums = self._links(script.get("forums"), "script.forums")
        known_technologies = {t.id for t in self.technologies}
        self.default_technologies = [str(t) for t in script.get("default_technologies") or []]
        unknown = [t for t in self.default_technologies if t not in known_technologies]
        if unknown:
            raise RulesError(f"{source}: script.default_technologies: unknown technology {unknown[0]!r}")

        self_service = self._mapping(data, "self_service")
        self._keys(self_service, SELF_SERVICE_KEYS, "self_service")
        self.self_service_topics = [
            self.term_list(spec, f"self_service.topics.{topic}", "self_service", name=str(topic))
            for topic, spec in self._mapping(self_service, "topics", "self_service").items()
        ]
        self.self_service_blocked_by = self.term_list(self_service.get("blocked_by"), "self_service.blocked_by")
        self.self_service_blocked_kind = self_service.get("blocked_kind")
        if self.self_service_blocked_kind not in TICKET_KINDS:
            raise RulesError(f"{source}: self_service.blocked_kind must be technical or administrative")

        several = self._mapping(data, "several_questions")
        self._keys(several, {"markers"}, "several_questions")
        self.markers = self.term_list(several.get("markers"), "several_questions.markers")

    # -- reading helpers --

    def _keys(self, data, allowed: set[str], where: str) -> None:
        if not isinstance(data, dict):
            raise RulesError(f"{self.source}: {where} must be a mapping")
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise RulesError(f"{self.source}: {where}: unknown key {unknown[0]!r} "
                             f"(allowed: {', '.join(sorted(allowed))})")

    def _mapping(self, data: dict, key: str, parent: str = "") -> dict:
        value = data.get(key)
        if not isinstance(value, dict):
            raise RulesError(f"{self.source}: {parent + '.' if parent else ''}{key} is missing or not a mapping")
        return value

    def _int(self, data: dict, key: str, parent: str) -> int:
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
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

    def term_list(self, spec, where: str, weight: str | None = None, name: str | None = None) -> TermList:
        """Compile {nl: [...], en: [...], max_count, except, fuzzy, article} into a TermList.

        weight names the entry of the weights section this list adds to the score (None: it only
        signals, like a server problem or a marker, and adds nothing).
        """
        if spec is None:
            raise RulesError(f"{self.source}: {where} is missing")
        if not isinstance(spec, dict):
            raise RulesError(f"{self.source}: {where} must be a mapping with nl and en lists")
        if "weight" in spec:
            raise RulesError(f"{self.source}: {where}: weights live in the weights section only")
        self._keys(spec, LIST_KEYS, where)
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
        max_count = spec.get("max_count", self.max_count)
        if not isinstance(max_count, int) or isinstance(max_count, bool) or max_count < 1:
            raise RulesError(f"{self.source}: {where}.max_count must be a whole number of 1 or more")
        if not isinstance(spec.get("fuzzy", False), bool):
            raise RulesError(f"{self.source}: {where}.fuzzy must be true or false")
        article = spec.get("article")
        return TermList(name or where, terms, self.weights[weight] if weight else 0, max_count, except_terms,
                        bool(spec.get("fuzzy")), str(article) if article else None)

    def document(self, text: str) -> "Document":
        return Document(self, text)

    def article_ids(self) -> set[str]:
        """Return every article id the rules point to, for checking them against the content."""
        ids = set(self.general_articles.values()) | set(self.script_articles)
        ids |= {t.article for t in self.troubleshooting + self.self_service_topics if t.article}
        if self.always_ticket.article:
            ids.add(self.always_ticket.article)
        if self.server_article:
            ids.add(self.server_article)
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
            self.positions.setdefault(INITIAL + token.text[:1], []).append(i)
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
    """Return the problems of the triage rules of a content folder: schema errors, or unknown articles."""
    try:
        path = Path(store.content_dir) / RULES_FILE
        with path.open(encoding="utf-8") as fh:
            rules = Rules(yaml.safe_load(fh), str(path))
    except (OSError, yaml.YAMLError, RulesError) as exc:
        return [str(exc)]
    known = store.all_ids()
    return [f"{rules.source}: unknown article id {article_id!r}"
            for article_id in sorted(rules.article_ids() - known)]


def rules_folder(store: ArticleStore | None) -> Path:
    """Return the content folder: the store's, else the app's article store's."""
    if store is None and has_app_context():
        store = current_app.extensions["articles"]
    if store is None or store.content_dir is None:
        raise RulesError("no content folder: pass the article store")
    return Path(store.content_dir)
