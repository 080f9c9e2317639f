"""The triage's decision: an ordered table of steps, each with its reason.

The question is read once (helpsite.understanding); then the steps in STEPS are tried in order
and the first that decides, decides. A server-problem signal comes first, because turning away
a real server problem is the worst mistake the triage can make; weak evidence comes before any
answer without a ticket, for the same reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _

from ..content import CLIENT_IDS, LANGUAGES, Article, ArticleStore
from ..understanding import Evidence, Understanding, understand
from .rules import Rules, RulesError, Technology, load_rules, rules_folder
from .several import question_parts, several_questions

log = logging.getLogger(__name__)

VERDICTS = ("client_setup", "script", "self_service", "ticket")
# On equal scores the narrower outcome wins: "PHPMailer via your SMTP server" is about a script.
TIE_ORDER = {"self_service": 3, "script": 2, "client_setup": 1}
MAX_GUIDES = 3
MAX_ARTICLES = 5
MAX_QUOTED = 3


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
    step: str = ""  # the step of STEPS that decided

    @property
    def turned_away(self) -> bool:
        """Return True when the customer is not offered a ticket."""
        return self.verdict != "ticket"


def quoted(words: list[str]) -> str:
    """Return the customer's words as “a”, “b”, “c” for a reason."""
    return ", ".join(f"“{w}”" for w in words[:MAX_QUOTED])


def classify(text: str, lang: str, store: ArticleStore, search_index=None) -> Decision:
    """Decide what happens to a question: guides, documentation links, self-service or a ticket."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    with force_locale(lang):
        try:
            rules = load_rules(rules_folder(store))
        except RulesError as exc:
            log.error("triage without rules, the question becomes a ticket: %s", exc)
            return Decision("ticket", "technical", step="no_rules", reasons=[
                _("Our Customer Support Team will look at your question."),
            ])
        case = Case(rules, understand(text, rules, lang), lang, store, search_index)
        for name, step in STEPS:
            decision = step(case)
            if decision is not None:
                decision.step = name
                return decision
        raise AssertionError("the last step always decides")  # pragma: no cover


class Case:
    """One question on its way through the steps: what was understood and what is known so far."""

    def __init__(self, rules: Rules, understood: Understanding, lang: str, store: ArticleStore, search_index):
        self.rules, self.understood, self.lang, self.store, self.search_index = rules, understood, lang, store, search_index
        self.ev: Evidence = understood.evidence
        self.doc = understood.doc
        self.scores = dict(self.ev.scores)
        self.evidence = {name: [m.words for m in found] for name, found in self.ev.matches.items()}
        self.parts = question_parts(rules, understood.text)
        self.several = several_questions(self.parts)
        blocked = {}
        if self.ev.matches.get("self_service_blocked") and self.scores["self_service"]:
            blocked["self_service"] = self.ev.words("self_service_blocked")
        if self.ev.matches.get("script_blocked") and self.scores["script"]:
            blocked["script"] = self.ev.words("script_blocked")
        self.blocked = blocked
        candidates = [v for v in ("self_service", "script", "client_setup") if v not in blocked]
        # On equal scores a named program wins ("upload a php file with FileZilla" is about FileZilla);
        # otherwise the narrower outcome.
        named = bool(self.ev.clients)
        self.best = max(candidates, key=lambda v: (self.scores[v], named and v == "client_setup", TIE_ORDER[v]))
        self.ticket_evidence = max(self.scores["administrative"], self.scores["technical"])

    def ticket(self, kind: str, reasons: list[str], articles: list[Article] | None = None) -> Decision:
        return Decision("ticket", kind, None, articles or [], [], reasons, self.several, self.scores, self.evidence)

    def kind(self, extra_admin: int = 0, extra_technical: int = 0) -> str:
        administrative = self.scores["administrative"] + extra_admin
        technical = self.scores["technical"] + extra_technical
        return "administrative" if administrative > technical else "technical"

    def ticket_reasons(self, chosen_kind: str) -> list[str]:
        if chosen_kind == "administrative" and self.ev.words("administrative"):
            return [_("It looks like an administrative question (%(words)s): our Customer Support Team "
                      "answers it.", words=quoted(self.ev.words("administrative")))]
        service_words = self.ev.words("technical.services", "technical.delivery")
        if service_words:
            return [_("It is a question about our services (%(words)s): our Customer Support Team answers it.",
                      words=quoted(service_words))]
        return [_("Your question does not clearly match a subject we answer online, so our Customer Support "
                  "Team will look at it.")]

    def override(self) -> str:
        return _("Do you believe the problem is on our servers after all? Then you can still create a ticket.")


# -- the steps, in order -----------------------------------------------------------------------


def step_server_problem(case: Case) -> Decision | None:
    """A possible server problem is never turned away.

    Except two cases. One kind of signal: who or since when ("suddenly", "every account") together with a
    failure, in a question that names a program or a script technology and is clearly about it (at
    least twice the evidence an answer needs) — a bug report about a mail app or about one's own
    rewrite rules says "suddenly" and "no one" too. And a question clearly about a program that says
    it works in webmail or on another device. Otherwise a server phrase ("nothing changed",
    "bounced", 503) always counts.
    """
    matches = case.ev.matches
    only_combination = len(matches.get("server_problem", [])) == len(matches.get("server_combination", []))
    clearly = 2 * case.rules.min_score
    about_program = case.ev.clients and case.scores["client_setup"] >= clearly
    about_script = case.ev.technologies and case.scores["script"] >= clearly
    if only_combination and (about_program or about_script):
        return None
    # The customer's own test outweighs "I changed nothing": it works in webmail or on another device,
    # so the problem is in the program they name (Using webmail: "webmail works: your program").
    if about_program and matches.get("device_hint"):
        return None
    if matches.get("server_problem"):
        return case.ticket("technical", [
            _("You mention %(words)s. That can point to a problem on our servers, so our Customer Support "
              "Team will look at it.", words=quoted(case.ev.words("server_problem"))),
        ])
    return None


def step_always_ticket(case: Case) -> Decision | None:
    """Some subjects (Managed Hosting) are always answered personally."""
    if not case.ev.matches.get("always_ticket"):
        return None
    article = case.rules.always_ticket.article
    return case.ticket(case.kind(), [
        _("You mention %(words)s: our Customer Support Team answers these questions personally.",
          words=quoted(case.ev.words("always_ticket"))),
    ], _articles(case.store, case.lang, [article] if article else []))


def step_blocked(case: Case) -> Decision | None:
    """An answer we would give is ruled out by what else the question says ("the EPP code is rejected")."""
    strongest = max(case.blocked, key=lambda v: case.scores[v], default=None)
    if not strongest or case.scores[strongest] < case.scores[case.best]:
        return None
    if strongest == "self_service":
        extra = "extra_admin" if case.rules.self_service_blocked_kind == "administrative" else "extra_technical"
        chosen = case.kind(**{extra: case.scores["self_service"]})
        reason = _("You mention %(words)s, so this is not something you can arrange yourself: our Customer "
                   "Support Team will look at it.", words=quoted(case.blocked["self_service"]))
    else:
        chosen = case.kind(extra_technical=case.scores["script"])
        reason = _("You mention %(words)s: that is a setting of our servers rather than of your own script, "
                   "so our Customer Support Team will answer it.", words=quoted(case.blocked["script"]))
    return case.ticket(chosen, [reason])


def step_several(case: Case) -> Decision | None:
    """Several questions in one text, one of them for our team: a ticket, and the rest is not lost."""
    if not case.several:
        return None
    # A 500 in a script question is the script's own error (the SLA's example): only another
    # subject's 500 ("my EPP code? and my site gives a 500") keeps a ticket.
    script_question = case.scores["script"] >= case.rules.min_score and case.best == "script"
    ticket_part = any(part.needs_ticket(case.rules) and not (script_question and part.only_server_error)
                      for part in case.parts)
    if not ticket_part and case.ticket_evidence < case.rules.min_score:
        return None
    chosen = case.kind()
    # What the other questions need is still offered: the self-service or troubleshooting article.
    articles = _articles(case.store, case.lang, case.understood.article_ids())
    return case.ticket(chosen, [
        _("You ask several things at once, and at least one of them needs our Customer Support Team."),
        *case.ticket_reasons(chosen),
    ], articles)


def step_weak(case: Case) -> Decision | None:
    """Too little evidence for an answer without a ticket, or more for a ticket: a ticket."""
    rules, scores = case.rules, case.scores
    if scores[case.best] < rules.min_score or scores[case.best] < case.ticket_evidence + rules.margin:
        return case.ticket(case.kind(), case.ticket_reasons(case.kind()))
    return None


def step_answer(case: Case) -> Decision:
    """No ticket: say why, and give the way forward."""
    if case.best == "client_setup":
        return _client_setup(case)
    if case.best == "script":
        technologies = [t for t, _start in case.ev.technologies]
        words = case.ev.words("technology") or case.ev.words("script_words")
        return Decision(
            "script", None, technologies[0].id if technologies else None,
            _articles(case.store, case.lang, case.rules.script_articles),
            script_links(case.rules, case.lang, technologies),
            [_("You mention %(words)s: our helpdesk does not support setting up or using your own scripts "
               "(.htaccess, PHP, Perl and so on). The documentation and forum below can help you further.",
               words=quoted(words)), case.override()],
            case.several, case.scores, case.evidence,
        )
    panel = case.store.placeholder_values(case.lang).get("panel_name", "Mijn Web://Xtra")
    return Decision(
        "self_service", None, None,
        _articles(case.store, case.lang, [topic.article for topic, _start in case.ev.self_topics if topic.article]), [],
        [_("You mention %(words)s: you can arrange this yourself in %(panel)s, 24 hours a day. The article "
           "below shows how.", words=quoted(case.ev.words("self_service")), panel=panel)],
        case.several, case.scores, case.evidence,
    )


# The order is the policy: read it top to bottom.
STEPS = (
    ("server_problem", step_server_problem),
    ("always_ticket", step_always_ticket),
    ("blocked", step_blocked),
    ("several", step_several),
    ("weak", step_weak),
    ("answer", step_answer),
)


def _client_setup(case: Case) -> Decision:
    rules, ev, store, lang = case.rules, case.ev, case.store, case.lang
    clients = case.understood.programs
    kinds = {client_id: kind for kind, ids in CLIENT_IDS.items() for client_id in ids}
    if clients:
        area = kinds.get(clients[0], "email")
        articles = []
        for client_id in clients[:MAX_GUIDES]:
            articles.extend(a for a in guides(store, client_id, lang) if a not in articles)
    else:
        email, ftp = len(case.doc.find(rules.email_words)), len(case.doc.find(rules.ftp_words))
        area = "ftp" if ftp > email else "email"
        articles = []
    # The known problem named comes before the general settings ("ik kan geen mail versturen").
    for terms in ev.troubleshooting:
        article = store.best(terms.article, lang) if terms.article else None
        if article and article.category == area and article not in articles:
            articles.append(article)
    if not clients:
        articles.extend(a for a in _articles(store, lang, [rules.general_articles[area]]) if a not in articles)
    if not clients and len(articles) < 2 and case.search_index is not None:
        articles.extend(_search(case.search_index, store, case.doc.text, lang, area, exclude=articles))
    words = ev.words("client", "setup", "troubleshooting", "settings")
    return Decision(
        "client_setup", None, clients[0] if clients else None, articles[:MAX_ARTICLES], [],
        [_("You mention %(words)s: setting up and fixing email and FTP programs is supported online, "
           "with the guides on this site.", words=quoted(words)), case.override()],
        case.several, case.scores, case.evidence,
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
        rules = load_rules(rules_folder(store))
    except RulesError as exc:
        log.error("no documentation links without rules: %s", exc)
        return []
    return script_links(rules, lang, [])


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
    from ..search import QueryError  # the search module is optional here: classify runs without an index

    try:
        hits = search_index.search(text[:2000], lang, limit=5, category=area, suggest=False).hits
    except (QueryError, FileNotFoundError):
        return []
    found = []
    for hit in hits:
        article = store.get(hit.lang, hit.id)
        if article and article not in exclude and article not in found:
            found.append(article)
    return found[:2]
