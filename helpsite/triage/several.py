"""Several questions in one text: the sentences that are about something, and whether they differ.

The SLA asks one question per ticket; a text whose sentences are about different subjects (a
program and an invoice, a script and a server error) gets the advice to split it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ..content import LANGUAGES, ArticleStore
from ..understanding import Evidence, gather
from .rules import Rules, RulesError, load_rules, rules_folder

log = logging.getLogger(__name__)

NUMBERED_ITEM = re.compile(r"(?:(?<=\s)|^)\(?\d{1,2}[.)]\s+")
SENTENCE_END = re.compile(r"[?!;\n]+|\.(?=\s|$)")
# A question mark that ends a sentence: "(?:themes|users)" and "?path=" in pasted code do not ask anything.
QUESTION_MARK = re.compile(r"\?+(?=[\s\"')\]]|$)")
SERVER_ERROR = re.compile(r"(?<![\w.])5\d\d(?![\w.])|internal server error", re.I)

# A single sentence says less than a whole question: a lower bar tells what it is about.
SENTENCE_MIN_SCORE = 2


@dataclass
class Part:
    """One sentence of a text, what it is about, and what it alone would need."""

    text: str
    evidence: Evidence
    subjects: set[str]

    @property
    def only_server_error(self) -> bool:
        """Return True when the part is about our servers only because it names a 5xx error."""
        ev = self.evidence
        return not ev.matches.get("server_problem") and ev.scores["technical"] < SENTENCE_MIN_SCORE \
            and not ev.scores["administrative"] and bool(SERVER_ERROR.search(self.text))

    def needs_ticket(self, rules: Rules) -> bool:
        """Return True when this part, read alone, is for our team: a server signal, or service evidence
        with no answer we give online ("... en mijn site geeft een 500 error")."""
        if "technical" not in self.subjects and "administrative" not in self.subjects:
            return False
        ev = self.evidence
        if ev.matches.get("server_problem"):
            return True
        # A program's question alone is not for our team, though it counts as a technical subject.
        about_us = ev.scores["technical"] >= SENTENCE_MIN_SCORE or ev.scores["administrative"] \
            or SERVER_ERROR.search(self.text)
        answer = max(ev.scores["client_setup"], ev.scores["script"], ev.scores["self_service"])
        return bool(about_us) and answer < rules.min_score


def question_parts(rules: Rules, text: str) -> list[Part]:
    """Return the sentences of a text that are about something, with their subjects."""
    numbered = len(NUMBERED_ITEM.findall(text))
    question_marks = len(QUESTION_MARK.findall(text))
    marked = bool(rules.markers.find(rules.document(text)))
    if not (marked or numbered >= 2 or question_marks >= 2):
        return []
    parts = []
    for sentence in SENTENCE_END.split(NUMBERED_ITEM.sub("\n", text)):
        if not sentence.strip():
            continue
        ev = gather(rules, rules.document(sentence))
        subjects = set()
        if (ev.matches.get("server_problem") or ev.scores["technical"] >= SENTENCE_MIN_SCORE
                or ev.scores["client_setup"] >= SENTENCE_MIN_SCORE or SERVER_ERROR.search(sentence)):
            subjects.add("technical")  # a program and a server problem are often the same problem
        if ev.scores["administrative"]:
            subjects.add("administrative")
        if ev.scores["script"] >= SENTENCE_MIN_SCORE:
            subjects.add("script")
        if ev.scores["self_service"]:
            subjects.add("self_service")
        if subjects:
            parts.append(Part(sentence.strip(), ev, subjects))
    return parts


def several_questions(parts: list[Part]) -> bool:
    """Return True when two parts are about different subjects."""
    subjects = [part.subjects for part in parts]
    return any(not (a & b) for i, a in enumerate(subjects) for b in subjects[i + 1:])


def split_advice(text: str, lang: str, store: ArticleStore | None = None) -> bool:
    """Return True when a text asks several unrelated questions, so one ticket per question is advised.

    The rules come from the store's content folder (by default the app's article store).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    try:
        rules = load_rules(rules_folder(store))
    except RulesError as exc:
        log.error("no split advice without rules: %s", exc)
        return False
    return several_questions(question_parts(rules, text))

