"""Customers ask questions, get routed, open tickets and follow them."""

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from .. import accounts, incidents, tickets
from ..extensions import articles, csrf, limiter
from ..i18n import localized_route
from ..models import TicketStatus, utcnow
from ..questions import Choices, answer_online, submit_contact_question, submit_question
from ..support_calendar import calendar_from_config

bp = Blueprint("tickets", __name__)

# The forms validate their own CSRF token, so that a refused token shows the form again
# with everything the customer typed instead of an error page.
TICKET_ERRORS = {
    "too_long": lambda: _("Your text is too long. Shorten it, or split it into separate questions."),
    "domain_missing": lambda: _("Name the (sub)domain your question is about."),
    "domain_invalid": lambda: _("This is not a valid domain name. Write it like voorbeeld.nl or shop.voorbeeld.nl."),
    "domain_not_yours": lambda: _("This domain is not in your account. Choose one of your domains or a subdomain of one."),
    "body_missing": lambda: _("Write your question."),
    "kind_invalid": lambda: _("Unknown kind of question."),
}


def csrf_message() -> str:
    return _("This form had expired. Nothing is lost: check your text and send it again.")


class AskForm(FlaskForm):
    # The domain and subject may be left empty when the question says them (see fill_in_from_question).
    domain = StringField(_l("(Sub)domain"), validators=[Length(max=253)])
    subject = StringField(_l("Subject"), validators=[Length(max=tickets.MAX_SUBJECT_LENGTH,
                                                            message=_l("Use at most %(max)d characters."))])
    question = TextAreaField(_l("Your question"), validators=[
        DataRequired(_l("Write your question.")),
        Length(max=tickets.MAX_BODY_LENGTH, message=_l("Use at most %(max)d characters."))])
    # Choices the customer made on earlier steps, carried along so nothing is asked twice.
    override = BooleanField()
    split_ok = BooleanField()
    duplicate_choice = HiddenField()
    article = HiddenField()  # the id of the article the reader came from ("Still need help?")


class ContactForm(AskForm):
    """The question form for a visitor who is not logged in: the same questions, and where to answer."""

    email = EmailField(_l("Your email address"), validators=[
        DataRequired(_l("Enter your email address.")), Length(max=254),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("This is not an email address."))])


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), validators=[
        DataRequired(_l("Write your reply.")),
        Length(max=tickets.MAX_BODY_LENGTH, message=_l("Use at most %(max)d characters."))])


def validate_question_form(form, customer=None) -> bool:
    """Validate the question form after filling in what the question says; on errors name every missing field."""
    valid = form.validate_on_submit()
    fill_in_from_question(form, customer)
    if not valid:
        replace_csrf_errors(form)
        if not form.domain.data and not form.domain.errors:  # say everything that is missing at once
            form.domain.errors = [TICKET_ERRORS["domain_missing"]()]
    return valid


def fill_in_from_question(form, customer=None) -> None:
    """Fill an empty subject from the question's first line, and for a customer an empty domain from
    the one domain of theirs the question names; what cannot be filled in stays empty and is asked for."""
    question = form.question.data or ""
    if not (form.subject.data or "").strip():
        form.subject.data = tickets.subject_from(question)
    if customer is not None and not (form.domain.data or "").strip():
        form.domain.data = tickets.domain_named_in(customer, f"{form.subject.data}\n{question}") or ""


def answered_without_domain(exc: tickets.TicketError, customer, subject: str, question: str, choices: Choices,
                            source: str):
    """Return the answer when the only thing missing is the (sub)domain and the question needs no ticket.

    A guide, the scripts policy or self-service needs no (sub)domain: the SLA asks it for a ticket,
    and the form asks again when the question is sent as a ticket after all.
    """
    if str(exc) != "domain_missing":
        return None
    return answer_online(customer, subject, question, g.lang, choices, source=source)


def replace_csrf_errors(form) -> None:
    if form.csrf_token.errors:
        form.csrf_token.errors = [csrf_message()]


def support_availability() -> dict:
    """Return whether support is open now and, if not, when it opens."""
    calendar = calendar_from_config(current_app.config)
    now = utcnow()
    is_open = calendar.is_open(now)
    return {"open": is_open, "next_opening": None if is_open else calendar.next_opening(now)}


def article_context(article_id: str | None):
    """Return the published article a question is asked from, or None."""
    return articles.best(article_id, g.lang) if article_id else None


def with_article_line(question: str, article) -> str:
    """Add the article the customer read to their question, so support sees where they came from."""
    if article is None:
        return question
    url = url_for("kb.permalink", article_id=article.id, _external=True)
    line = _("Asked after reading: %(title)s (%(url)s)", title=article.title, url=url)
    return question + "\n\n" + line


@localized_route(bp, {"nl": "/vraag-stellen", "en": "/ask"}, methods=["GET", "POST"])
@csrf.exempt  # the form (FlaskForm) checks its own token, so a refused token keeps the text typed
@limiter.limit(lambda: current_app.config.get("ASK_RATE_LIMIT", "30/hour"), methods=["POST"])
def ask():
    """Ask a question: it is answered with articles, turned to documentation, or becomes a ticket."""
    if not current_user.is_authenticated:  # the contact form asks the same, and offers to log in
        return redirect(url_for("tickets.contact", article=request.args.get("article") or None))
    if not current_user.is_customer:
        abort(403)
    form = AskForm()
    article = article_context(request.values.get("article"))
    context = {"form": form, "availability": support_availability(), "decision": None, "split": False,
               "similar": [], "domains": [d.name for d in current_user.domains], "article": article}
    if request.method == "GET":
        if len(context["domains"]) == 1:
            form.domain.data = context["domains"][0]
        form.article.data = article.id if article else ""
        return render_template("tickets/ask.html", **context)
    choices = Choices(override=bool(form.override.data), split_ok=bool(form.split_ok.data),
                      duplicate=form.duplicate_choice.data or "")
    if not validate_question_form(form, current_user):
        return render_template("tickets/ask.html", **context), 400
    try:
        subject = tickets.clean_text(form.subject.data, tickets.MAX_SUBJECT_LENGTH, multiline=False)
        question = tickets.clean_text(form.question.data, tickets.MAX_BODY_LENGTH)
        domain = tickets.check_domain(current_user, form.domain.data)
    except tickets.TicketError as exc:
        answered = answered_without_domain(exc, current_user, subject, question, choices, "web")
        if answered is not None:
            context.update(decision=answered.decision)
            return render_template("tickets/ask.html", **context)
        field = form.domain if str(exc).startswith("domain") else form.question
        field.errors = [TICKET_ERRORS[str(exc)]()]
        return render_template("tickets/ask.html", **context), 400

    # A question about an open incident is answered with the incident first (follow it, or ask anyway).
    text = f"{subject}\n{question}"
    context["incidents"] = [] if request.form.get("incident_seen") else incidents.matching(text, current_user, domain)
    if context["incidents"]:
        return render_template("tickets/ask.html", **context)
    try:
        outcome = submit_question(current_user, domain, subject, with_article_line(question, article), g.lang, choices,
                                  triage_text=text)
    except LookupError:
        abort(404)
    context.update(decision=outcome.decision, split=outcome.action == "split", similar=outcome.similar)
    if outcome.action == "added":
        return redirect(url_for("tickets.show", number=outcome.ticket.number, added=1))
    if outcome.action == "created":
        return redirect(url_for("tickets.show", number=outcome.ticket.number, created=1))
    return render_template("tickets/ask.html", **context)


@localized_route(bp, {"nl": "/contact", "en": "/contact"}, methods=["GET", "POST"])
@csrf.exempt  # the form (FlaskForm) checks its own token, so a refused token keeps the text typed
@limiter.limit(lambda: current_app.config.get("CONTACT_RATE_LIMIT", "5/hour"), methods=["POST"])
def contact():
    """Reach support without logging in: one question, its domain, an address; a person checks it first."""
    article = article_context(request.values.get("article"))
    if current_user.is_authenticated and current_user.is_customer:
        return redirect(url_for("tickets.ask", article=article.id if article else None))
    form = ContactForm()
    context = {"form": form, "availability": support_availability(), "decision": None, "split": False,
               "similar": [], "domains": [], "article": article, "contact": True,
               "sent": request.args.get("sent") == "1"}
    if request.method == "GET":
        form.article.data = article.id if article else ""
        return render_template("tickets/ask.html", **context)
    if not validate_question_form(form):
        return render_template("tickets/ask.html", **context), 400
    choices = Choices(override=bool(form.override.data), split_ok=bool(form.split_ok.data))
    try:
        subject = tickets.clean_text(form.subject.data, tickets.MAX_SUBJECT_LENGTH, multiline=False)
        question = tickets.clean_text(form.question.data, tickets.MAX_BODY_LENGTH)
        domain = accounts.normalise_domain(form.domain.data)
        if not domain:
            raise tickets.TicketError("domain_missing")
        if not accounts.is_domain_name(domain):
            raise tickets.TicketError("domain_invalid")
    except tickets.TicketError as exc:
        answered = answered_without_domain(exc, None, subject, question, choices, "contact")
        if answered is not None:
            context.update(decision=answered.decision)
            return render_template("tickets/ask.html", **context)
        field = form.domain if str(exc).startswith("domain") else form.question
        field.errors = [TICKET_ERRORS[str(exc)]()]
        return render_template("tickets/ask.html", **context), 400
    article_line = (f"{article.title} ({url_for('kb.permalink', article_id=article.id, _external=True)})"
                    if article else "")
    outcome = submit_contact_question(accounts.normalise_email(form.email.data), domain, subject, question, g.lang,
                                      choices, article_line)
    if outcome.action != "kept":
        context.update(decision=outcome.decision, split=outcome.action == "split")
        return render_template("tickets/ask.html", **context)
    return redirect(url_for("tickets.contact", sent=1), code=303)


@localized_route(bp, {"nl": "/mijn-tickets", "en": "/my-tickets"})
@login_required
def mine():
    """List the customer's tickets with their status and expected response."""
    if not current_user.is_customer:
        abort(403)
    return render_template("tickets/mine.html", tickets=tickets.customer_tickets(current_user))


@localized_route(bp, {"nl": "/tickets/<int:number>", "en": "/tickets/<int:number>"}, methods=["GET", "POST"])
@login_required
@csrf.exempt  # the form (FlaskForm) checks its own token, so a refused token keeps the text typed
def show(number):
    """Show one ticket's conversation; the customer can reply."""
    ticket = tickets.ticket_for(current_user, number)
    if ticket is None:
        abort(404)  # not "forbidden": whether someone else's ticket exists is not for others to learn
    if current_user.is_staff and "desk.ticket" in current_app.view_functions:
        return redirect(url_for("desk.ticket", number=number))
    form = ReplyForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                tickets.add_customer_message(ticket, current_user, form.body.data)
            except tickets.TicketError as exc:
                form.body.errors = [TICKET_ERRORS[str(exc)]()]
                status = 400
            else:
                return redirect(url_for("tickets.show", number=number, replied=1))
        else:
            replace_csrf_errors(form)
            status = 400
    return render_template("tickets/show.html", ticket=ticket, form=form,
                           messages=tickets.visible_messages(ticket, current_user),
                           asked_information=tickets.answers_our_request(ticket),
                           created=request.args.get("created") == "1", solved=request.args.get("solved") == "1"), status


@localized_route(bp, {"nl": "/tickets/<int:number>/opgelost", "en": "/tickets/<int:number>/solved"}, methods=["POST"])
@login_required
def solve(number):
    """Let the customer close their own ticket when the question is solved (CSRFProtect checks the token)."""
    ticket = tickets.ticket_for(current_user, number)
    if ticket is None or ticket.user_id != current_user.id:
        abort(404)
    if ticket.status != TicketStatus.CLOSED:
        tickets.close_ticket(ticket)
    return redirect(url_for("tickets.show", number=number, solved=1), code=303)
