"""What a customer's question is about: one reading shared by search, suggestions and triage.

Search ranking, the question form's live suggestions, POST /api/triage and the triage of
incoming mail all ask this module, so a program named in a question is the same program
everywhere. It reads the words the editors keep in content/triage.yaml (program names and
their aliases, error texts, script technologies, server-problem signals): one source for
what a word means, not a second list in the search code.

    understand(text, store) -> Understanding
        .programs       applies_to ids of the programs named, strongest first ("k9mail" -> android); a
                        program without a guide (Mailspring: applies_to general) counts as named but is
                        not listed here, so it takes the path of an unnamed program
        .unguided       the customer's words naming such a program ("KMail"), for an article that names it
        .problems       article ids of known program problems named (530, certificate warnings ...)
        .technologies   script technologies named (htaccess, php, cron ...)
        .topics         self-service topics (epp_code, token, end_service)
        .server         the words that point at our servers
        .errors         error codes in the text ("530", "550 5.7.1")
        .language       "nl" or "en", guessed from the words
        .evidence       everything the rules matched, with scores, for the triage
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .text import fold

if TYPE_CHECKING:  # the rules are passed in: this module imports no triage code when it runs
    from .triage.rules import Document, Rules, Technology
    from .triage.text import Match, TermList

# Error codes customers paste: SMTP/FTP replies with an optional enhanced status ("550 5.7.1").
ERROR_CODE = re.compile(r"(?<![\w.])([45]\d\d)(?:[ -]+(\d\.\d{1,3}\.\d{1,3}))?(?![\w.])")

# A program named at most this many words after a comparison ("works fine with ... Mail.app").
COMPARED_WITHIN = 4

# The client id of programs we have no guide for (content/triage.yaml: client_setup.clients.general).
GENERAL = "general"

# From this many words on, a text is a question rather than a few words to look up.
QUESTION_WORDS = 8

# A handful of the most frequent words of each language decide which one a text is in (a
# question on the form, a mail's text: greetings and closings are among them).
DUTCH_WORDS = frozenset("""de het een en ik je jij u mijn niet wel is zijn van voor met op aan bij als dat die
dit er geen hoe wat waarom kan kun kunt moet wil heb hebt heeft wordt werd ook nog maar naar dan toch al
graag bedankt alvast iemand weet uw wij onze beste goedemorgen goedemiddag vriendelijke groet groeten""".split())
ENGLISH_WORDS = frozenset("""the a an and i you my not is are was of for with on at in to that this there
no how what why can could should would will have has does do did get got also still but from then
please thanks anyone know your our it thank dear hello regards""".split())


def guess_language(text: str, default: str = "nl") -> str:
    """Return "nl" or "en", whichever the text's common words say; the default when it is unclear."""
    words = re.findall(r"[a-z]+", fold(text))[:400]
    dutch = sum(word in DUTCH_WORDS for word in words)
    english = sum(word in ENGLISH_WORDS for word in words)
    if dutch == english:
        return default
    return "nl" if dutch > english else "en"


@dataclass
class Evidence:
    """Everything the rules found in one question."""

    matches: dict[str, list[Match]] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)
    clients: list[tuple[str, int]] = field(default_factory=list)  # (client id, position), strongest first
    technologies: list[tuple[Technology, int]] = field(default_factory=list)
    self_topics: list[tuple[TermList, int]] = field(default_factory=list)
    troubleshooting: list[TermList] = field(default_factory=list)
    device_only: bool = False  # the program was guessed from a device ("on my Mac"), not named
    unguided: list[str] = field(default_factory=list)  # the words naming a program without a guide ("KMail")

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


def _mentions(matches: list[Match]) -> int:
    """Return how many separate places the matches cover ("new Outlook" and "Outlook" are one)."""
    taken: list[tuple[int, int]] = []
    for match in sorted(matches, key=lambda m: (m.start, -m.end)):
        if not any(match.start < end and start < match.end for start, end in taken):
            taken.append((match.start, match.end))
    return len(taken)


# SMTP's rejection codes, which FTP uses too (550 "file unavailable", 553 "file name not allowed").
SMTP_REJECTIONS = frozenset({"550", "551", "552", "553", "554"})


def _about_ftp(rules: Rules, doc: Document) -> bool:
    """Return True when a question speaks of FTP more than of email."""
    return len(doc.find(rules.ftp_words)) > len(doc.find(rules.email_words))


def gather(rules: Rules, doc: Document) -> Evidence:
    """Match every rule list against a question and add up the scores."""
    ev = Evidence()
    server = doc.find(rules.server_phrases)
    if any(m.words in SMTP_REJECTIONS for m in server) and _about_ftp(rules, doc):
        # 550-554 in a question about FTP are the FTP server's replies to the program (a file or folder
        # it may not write), not mail that our servers rejected.
        server = [m for m in server if m.words not in SMTP_REJECTIONS]
    ev.add("server_problem", server)
    # "Since this morning" means little when the customer says what changed that morning on their side.
    own_change = doc.find(rules.server_own_changes)
    ev.add("own_change", own_change)
    for combination in rules.server_combinations:
        parts = [doc.find(part) for part in combination]
        if all(parts) and not own_change:
            ev.add("server_problem", [m for part in parts for m in part[:1]])
            ev.add("server_combination", [m for part in parts for m in part[:1]])
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

    # client_setup: a program's name beats a device ("Thunderbird on my Mac"); of several names,
    # the one named most often leads, then the first named ("K-9 ... unlike Thunderbird").
    # A program named as the one that works ("it works in FileZilla") is not the one asked about,
    # but it still says the question is about a mail or FTP program.
    compared = doc.find(rules.compared)
    named, devices, works = [], [], False
    for client in rules.clients:
        by_name, by_device = doc.find(client.names), doc.find(client.devices)
        asked = [m for m in by_name if not any(0 <= m.start - c.end <= COMPARED_WITHIN for c in compared)]
        works = works or len(asked) < len(by_name)
        by_name = asked
        if by_name:
            named.append((client.id, by_name[0].start, by_name))
            if client.id == GENERAL:
                ev.unguided = [m.words for m in by_name]
        elif by_device:
            devices.append((client.id, by_device[0].start, by_device))
    chosen = sorted(named or devices, key=lambda c: (-_mentions(c[2]), c[1]))
    ev.clients = [(client_id, start) for client_id, start, _found in chosen]
    ev.device_only = bool(chosen) and not named
    for _id, _start, found in chosen:
        ev.add("client", found)
    score = rules.weights["client"] if chosen or works else 0
    for terms, name in ((rules.setup, "setup"), (rules.settings, "settings"), (rules.device_hints, "device_hint")):
        found = doc.find(terms)
        ev.add(name, found)
        score += terms.score(found)
    trouble_score = 0
    for terms in rules.troubleshooting:
        found = doc.find(terms)
        if found:
            ev.troubleshooting.append((terms, found[0].start))
            ev.add("troubleshooting", found)
            trouble_score = max(trouble_score, terms.score(found))
    ev.troubleshooting = [terms for terms, _start in sorted(ev.troubleshooting, key=lambda t: t[1])]
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


@dataclass
class Understanding:
    """One question as the site understands it (see the module's docstring)."""

    text: str
    rules: Rules
    doc: Document
    evidence: Evidence
    language: str

    @property
    def programs(self) -> list[str]:
        return [client_id for client_id, _start in self.evidence.clients if client_id != GENERAL]

    @property
    def unguided(self) -> list[str]:
        return list(self.evidence.unguided)

    @property
    def problems(self) -> list[str]:
        return [terms.article for terms in self.evidence.troubleshooting if terms.article]

    @property
    def technologies(self) -> list[str]:
        return [technology.id for technology, _start in self.evidence.technologies]

    @property
    def topics(self) -> list[str]:
        return [topic.name for topic, _start in self.evidence.self_topics]

    @property
    def server(self) -> list[str]:
        return self.evidence.words("server_problem")

    @property
    def errors(self) -> list[str]:
        return [" ".join(p for p in m.groups() if p) for m in ERROR_CODE.finditer(self.text)]

    def leading(self) -> str | None:
        """Return which answer without a ticket the evidence points to most, or None when it is weak."""
        scores = self.evidence.scores
        best = max(("self_service", "script", "client_setup"), key=lambda v: scores[v])
        return best if scores[best] >= self.rules.min_score else None

    def article_ids(self) -> list[str]:
        """Return the articles the question itself points to, most specific first, for ranking.

        (The named program's guide leads; the search resolves it: applies_to exactly [program].)
        Then the self-service article of the topic asked about, the articles of the known problems
        named, the scripts policy for a script question, and how tickets work for a question that
        points at our servers.
        """
        ids: list[str] = []
        leading = self.leading()
        scores = self.evidence.scores
        if leading == "self_service" and not self.evidence.matches.get("self_service_blocked"):
            ids.extend(topic.article for topic, _start in self.evidence.self_topics if topic.article)
        ids.extend(self.problems)
        # A problem on our side with an article of its own ("mail lands in the recipient's spam"): the
        # article explains it; how tickets work follows below.
        ids.extend(terms.article for terms in self.rules.technical
                   if terms.article and self.evidence.matches.get(terms.name))
        if (not self.programs or self.evidence.device_only) and leading == "client_setup":
            # No program named (a Mac runs Thunderbird as often as Apple Mail): the settings every
            # program needs, for mail or for FTP.
            email = len(self.doc.find(self.rules.email_words))
            ftp = len(self.doc.find(self.rules.ftp_words))
            ids.append(self.rules.general_articles["ftp" if ftp > email else "email"])
        if leading == "script" and scores["script"] > scores["client_setup"] \
                and not self.evidence.matches.get("script_blocked"):
            ids.extend(self.rules.script_articles)  # the policy, with the documentation links
        ticket_evidence = max(scores["technical"], scores["administrative"])
        # A few words ("mailbox vol") are a topic to look up; a whole question with some evidence for
        # our team that the triage would send to it (no answer online is strong enough, or the evidence
        # for a ticket is as strong: its "weak" step) is a question for a ticket. A title such as "Why
        # the ticket number in the subject matters" has no such evidence.
        whole_question = len(self.doc.tokens) >= QUESTION_WORDS
        # An answer its blocked_by list rules out ("cancelled, but still charged") is no answer.
        blocked = bool(leading and self.evidence.matches.get(f"{leading}_blocked"))
        weak = leading is None or blocked or scores[leading] < ticket_evidence + self.rules.margin
        # Invoices, payments and contracts have no article of their own: a few words about them and
        # nothing else ("betaalmethode wijzigen", not "overstappen naar IMAP") are a question for our team.
        answers = ("self_service", "script", "client_setup")
        administrative = bool(scores["administrative"]) and weak and (
            whole_question or blocked or not any(scores[answer] for answer in answers))
        if self.rules.server_article and (self.evidence.matches.get("server_problem") or (
                whole_question and ticket_evidence and weak) or administrative):
            ids.append(self.rules.server_article)  # how a ticket works: the question is for our team
        return list(dict.fromkeys(ids))


def understand(text: str, rules: Rules, lang: str = "nl") -> Understanding:
    """Read one question with the rules (triage.yaml) and return what it is about."""
    doc = rules.document(text)
    return Understanding(text, rules, doc, gather(rules, doc), guess_language(text, lang))
