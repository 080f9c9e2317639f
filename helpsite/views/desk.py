"""The support desk: the queue in SLA order, tickets, replies that link articles, notes."""

import re
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import accounts, analytics, kept_mail, mail, tickets, triage
from ..extensions import articles, csrf, db, search_index
from ..i18n import localized_route
from ..models import IncomingMail, TicketKind, TicketStatus, utcnow
from ..search import QueryError, SearchUnavailable
from ..support_calendar import calendar_from_config

bp = Blueprint("desk", __name__)
PERMALINK = re.compile(r"/a/([a-z0-9-]+)")


def staff_required(view):
    """Let support staff and admins in; others get 403 (anonymous visitors are sent to log in)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply"), validators=[DataRequired(_l("Write a reply.")),
                                                  Length(max=tickets.MAX_BODY_LENGTH)])
    internal = BooleanField(_l("Internal note (the customer never sees it)"))
    asks_information = BooleanField(_l("We ask the customer for information (their answer keeps the ticket's "
                                       "place in the queue)"))


class ActionForm(FlaskForm):
    """Close and reopen carry only the CSRF token."""


SUGGESTED_ARTICLES = 3
SUGGESTION_MIN_SHARE = 0.5  # of the best hit's score
SUGGESTION_TEXT_LIMIT = 2000  # what the search reads of a question (the API's limit)


def suggested_articles(ticket) -> list:
    """Return the articles the search finds for the ticket's own question, for the reply's article picker.

    A missing or broken index only costs the suggestions: the picker's own search says why.
    """
    first = next((m for m in ticket.messages if m.author_role != "support" and not m.internal), None)
    text = f"{ticket.subject}\n{first.body if first else ''}"[:SUGGESTION_TEXT_LIMIT]
    try:
        hits = search_index.search(text, ticket.lang, limit=SUGGESTED_ARTICLES).hits
    except (QueryError, SearchUnavailable):
        return []
    # A suggestion far below the best match is a stray word in a long question, not help for the agent.
    hits = [h for h in hits if h.score >= SUGGESTION_MIN_SHARE * hits[0].score] if hits else []
    return [a for a in (articles.get(h.lang, h.id) for h in hits) if a]


def time_left(ticket, calendar, now):
    """Return (working hours left, overdue?) for a ticket waiting for us."""
    if ticket.status != TicketStatus.WAITING_SUPPORT or ticket.due_at is None:
        return None, False
    seconds = calendar.working_seconds_between(now, ticket.due_at)
    return round(seconds / 3600, 1), seconds < 0


@localized_route(bp, {"nl": "/desk", "en": "/desk"})
@staff_required
def queue():
    """Show the queue in the order the SLA serves it, with filters."""
    status = request.args.get("status", TicketStatus.WAITING_SUPPORT)
    kind = request.args.get("kind") or None
    domain = (request.args.get("domain") or "").strip()[:253] or None
    listed = tickets.queue(status=None if status == "all" else status, kind=kind, domain=domain)
    calendar = calendar_from_config(current_app.config)
    now = utcnow()
    rows = []
    for position, ticket in enumerate(listed, start=1):
        hours, overdue = time_left(ticket, calendar, now)
        rows.append({"position": position, "ticket": ticket, "hours_left": hours, "overdue": overdue})
    given_up = len(mail.given_up()) if current_user.role == "admin" else 0  # admins see mail that failed
    return render_template("desk/queue.html", rows=rows, status=status, kind=kind, domain=domain or "",
                           given_up=given_up, kept_count=kept_mail.count_waiting())


def compose_standard_answer(ticket, kind: str) -> str:
    """Return a ready-made answer for the SLA's standard cases, in the customer's language."""
    decision = triage.classify(ticket.messages[0].body if ticket.messages else ticket.subject, ticket.lang,
                               articles, search_index)
    with force_locale(ticket.lang):
        if kind == "client_setup":
            guides = decision.articles if decision.verdict == "client_setup" and decision.articles else [
                a for a in (articles.best("email-settings", ticket.lang), articles.best("ftp-settings", ticket.lang)) if a]
            links = [{"title": a.title, "url": url_for("kb.permalink", article_id=a.id, _external=True)} for a in guides]
            return render_template("desk/answer_client_setup.txt", ticket=ticket, links=links)
        links = decision.doc_links if decision.verdict == "script" and decision.doc_links else triage.default_doc_links(
            ticket.lang)
        guide = articles.best("hosting-scripts-not-supported", ticket.lang)
        return render_template("desk/answer_script.txt", ticket=ticket, links=links,
                               guide_url=url_for("kb.permalink", article_id=guide.id, _external=True) if guide else None)


def article_link_line(article_id: str, section: str | None, lang: str) -> str | None:
    """Return 'Title (Section): permalink' for an article in the customer's language."""
    article = articles.best(article_id, lang)
    if article is None:
        return None
    url = url_for("kb.permalink", article_id=article.id, _external=True)
    title = article.title
    if section:
        entry = next((e for e in article.toc if e["id"] == section), None)
        if entry is None:
            return None
        url += f"#{section}"
        title = f"{title} – {entry['title']}"
    return f"{title}: {url}"


@localized_route(bp, {"nl": "/desk/tickets/<int:number>", "en": "/desk/tickets/<int:number>"},
                 methods=["GET", "POST"])
@staff_required
@csrf.exempt  # the reply form checks its own token, so a refused token keeps the text typed
def ticket(number):
    """Show a ticket with the customer's details; reply, note, or insert article links."""
    found = tickets.ticket_for(current_user, number)
    if found is None:
        abort(404)
    form = ReplyForm()
    notice = None
    status = 200
    if request.method == "POST":
        insert = request.form.get("insert")
        if insert:  # without JavaScript, "Insert" posts the form and comes back with the link added
            article_id, _sep, section = insert.partition("#")
            line = article_link_line(article_id, section or None, found.lang)
            if line:
                form.body.data = ((form.body.data or "").rstrip() + "\n" + line).strip()
            form.body.errors = []
        elif "search" in request.form:  # looking up articles keeps the reply typed so far; nothing is sent
            form.body.errors = []
        elif form.validate_on_submit():
            try:
                tickets.add_support_reply(found, current_user, form.body.data, internal=form.internal.data,
                                          asks_information=form.asks_information.data)
            except tickets.TicketError:
                form.body.errors = [_("The reply is too long.")]
                status = 400
            else:
                if not form.internal.data:
                    for article_id in set(PERMALINK.findall(form.body.data)):
                        analytics.record_article_link(article_id, found.id)
                return redirect(url_for("desk.ticket", number=number, sent=1 if not form.internal.data else None,
                                        noted=1 if form.internal.data else None))
        else:
            if form.csrf_token.errors:
                form.csrf_token.errors = [_("This form had expired. Nothing is lost: send it again.")]
            status = 400
    elif request.args.get("answer") in ("client_setup", "script"):
        form.body.data = compose_standard_answer(found, request.args["answer"])

    q = (request.args.get("q") or request.form.get("q") or "").strip()
    results, search_error = [], None
    if q:
        try:
            results = search_index.search(q, found.lang, limit=8).hits
        except QueryError:
            search_error = _("Type a word to search the articles.")
        except SearchUnavailable:
            search_error = _("The search index is being built.")
    result_articles = [a for a in (articles.get(h.lang, h.id) for h in results) if a]
    suggested = not q  # until the agent searches, the ticket's own question is the query
    if suggested:
        result_articles = suggested_articles(found)
    duplicates = tickets.linked_tickets(found)
    calendar = calendar_from_config(current_app.config)
    hours, overdue = time_left(found, calendar, utcnow())
    return render_template("desk/ticket.html", ticket=found, form=form, action_form=ActionForm(),
                           messages=tickets.visible_messages(found, current_user), article_q=q, results=result_articles,
                           search_error=search_error, suggested=suggested, routing=analytics.routing_of(found),
                           duplicates=duplicates, hours_left=hours, overdue=overdue,
                           sent=request.args.get("sent"), noted=request.args.get("noted"), notice=notice), status


@localized_route(bp, {"nl": "/desk/tickets/<int:number>/status", "en": "/desk/tickets/<int:number>/status"},
                 methods=["POST"])
@staff_required
def change_status(number):
    """Close or reopen a ticket."""
    found = tickets.ticket_for(current_user, number)
    if found is None:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("action") == "close":
        tickets.close_ticket(found)
    elif request.form.get("action") == "reopen":
        tickets.reopen_ticket(found)
    else:
        abort(400)
    return redirect(url_for("desk.ticket", number=number))


# -- mail kept for a person -----------------------------------------------------------------------

KEPT_ERRORS = {
    "empty": lambda: _("This mail has no text to add."),
    "not_customer": lambda: _("That account is not a customer account."),
    "no_ticket": lambda: _("There is no ticket with this number."),
    "no_customer": lambda: _("There is no customer account with this address."),
}


@localized_route(bp, {"nl": "/desk/bewaarde-mail", "en": "/desk/kept-mail"})
@staff_required
def kept_list():
    """List the mail kept for a person and the questions from the contact form, oldest first."""
    return render_template("desk/kept_list.html", rows=kept_mail.waiting())


@localized_route(bp, {"nl": "/desk/bewaarde-mail/<int:mail_id>", "en": "/desk/kept-mail/<int:mail_id>"},
                 methods=["GET", "POST"])
@staff_required
def kept(mail_id):
    """Read one kept mail; add it to a ticket, open a ticket for its customer, or discard it."""
    row = db.session.get(IncomingMail, mail_id)
    if row is None or row.handled:
        abort(404)
    seen = kept_mail.read(row)
    form = ActionForm()
    error, status = None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        action = request.form.get("action")
        try:
            if action == "add":
                number = request.form.get("ticket", "").strip().lstrip("#[").rstrip("]")
                ticket = tickets.ticket_for(current_user, int(number)) if number.isdigit() else None
                if ticket is None:
                    raise kept_mail.KeptMailError("no_ticket")
                kept_mail.add_to_ticket(row, ticket)
                target = ticket
            elif action == "open":
                customer = accounts.find_user(request.form.get("customer", ""))
                if customer is None:
                    raise kept_mail.KeptMailError("no_customer")
                kind = request.form.get("kind")
                target = kept_mail.open_ticket_for(row, customer,
                                                   kind=kind if kind in tickets.KINDS else TicketKind.TECHNICAL)
            elif action == "discard":
                kept_mail.discard(row)
                flash(_("The mail was discarded."), "success")
                return redirect(url_for("desk.kept_list"), code=303)
            else:
                abort(400)
        except (kept_mail.KeptMailError, tickets.TicketError) as exc:
            error = KEPT_ERRORS.get(str(exc), lambda: _("This did not work. Nothing was changed."))()
            status = 400
        else:
            flash(_("The mail is now part of ticket [#%(number)s].", number=target.number), "success")
            return redirect(url_for("desk.ticket", number=target.number), code=303)
    return render_template("desk/kept.html", seen=seen, form=form, error=error,
                           open_tickets=tickets.customer_tickets(seen.customer) if seen.customer else []), status
