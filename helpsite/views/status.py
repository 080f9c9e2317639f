"""The status page, its feed and JSON, following an incident, and keeping incidents in the desk."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .. import analytics, incidents, tickets
from ..extensions import limiter
from ..i18n import localized_route
from ..models import utcnow
from .desk import staff_required

bp = Blueprint("status", __name__)


@bp.app_context_processor
def incident_helpers():
    """Give every template the banner, and the desk and editor pages what incidents add to them."""
    return {
        "incident_banner": lambda: incidents.banner_for(current_user),
        "ticket_incidents": incidents.incidents_of_ticket,
        "incident_effects": lambda days: incidents.effects(analytics.period_start(days)),
        "incident_labels": {"kinds": incidents.KINDS, "services": incidents.SERVICES, "statuses": incidents.STATUSES},
    }


class IncidentForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in incidents.KINDS.items()])
    title_nl = StringField(_l("Title in Dutch"), validators=[DataRequired(_l("Give the title in Dutch.")),
                                                             Length(max=incidents.MAX_TITLE)])
    title_en = StringField(_l("Title in English"), validators=[DataRequired(_l("Give the title in English.")),
                                                               Length(max=incidents.MAX_TITLE)])
    description_nl = TextAreaField(_l("Description in Dutch"), validators=[Length(max=incidents.MAX_TEXT)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=incidents.MAX_TEXT)])
    services = SelectMultipleField(_l("Affected services"),
                                   choices=[SelectChoice(k, v) for k, v in incidents.SERVICES.items()],
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                   validators=[DataRequired(_l("Choose at least one affected service."))])
    servers = TextAreaField(_l("Servers or clusters"), validators=[Length(max=5000)])
    domains = TextAreaField(_l("Affected domains (optional)"), validators=[Length(max=5000)])
    started_at = DateTimeLocalField(_l("Start"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ended_at = DateTimeLocalField(_l("Planned end (maintenance)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class UpdateForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[SelectChoice(k, v) for k, v in incidents.STATUSES.items()
                                                    if k != "scheduled"])
    body_nl = TextAreaField(_l("Update in Dutch"), validators=[DataRequired(_l("Write the update in Dutch.")),
                                                               Length(max=incidents.MAX_TEXT)])
    body_en = TextAreaField(_l("Update in English"), validators=[DataRequired(_l("Write the update in English.")),
                                                                 Length(max=incidents.MAX_TEXT)])
    answer_tickets = BooleanField(_l("Also answer the open linked tickets with this update "
                                     "(each customer gets their own mail with their own ticket number)"))


class FollowForm(FlaskForm):
    """Follow and stop following carry only the CSRF token."""


def to_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """Read a date and time typed in the support time zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).astimezone(dt.timezone.utc)


def found_or_404(incident_id: int):
    incident = incidents.get(incident_id)
    if incident is None:
        abort(404)
    return incident


# -- public ------------------------------------------------------------------------------------

@localized_route(bp, {"nl": "/storingen", "en": "/status"})
def page():
    """Show current incidents, planned maintenance and what was resolved recently."""
    now = utcnow()
    return render_template("status/page.html", current=incidents.current(now), planned=incidents.planned(now),
                           recent=incidents.recent(now), recent_days=incidents.RECENT_DAYS)


@localized_route(bp, {"nl": "/storingen/<int:incident_id>", "en": "/status/<int:incident_id>"})
def incident(incident_id):
    """Show one incident with all its updates; a customer can follow it."""
    found = found_or_404(incident_id)
    return render_template("status/incident.html", incident=found, form=FollowForm(),
                           following=incidents.is_following(found, current_user),
                           followed=request.args.get("followed"), is_current=incidents.is_current(found))


@localized_route(bp, {"nl": "/storingen/<int:incident_id>/volgen", "en": "/status/<int:incident_id>/follow"},
                 methods=["POST"])
@login_required
def follow(incident_id):
    """Follow an incident (mail on each update) instead of opening a ticket, or stop following it."""
    if not current_user.is_customer:
        abort(403)
    found = found_or_404(incident_id)
    if not FollowForm().validate_on_submit():
        abort(400)
    if request.form.get("action") == "unfollow":
        incidents.unfollow(found, current_user)
        return redirect(url_for("status.incident", incident_id=found.id, followed="0"))
    followed = incidents.follow(found, current_user, g.lang) or incidents.is_following(found, current_user)
    return redirect(url_for("status.incident", incident_id=found.id, followed="1" if followed else None))


@localized_route(bp, {"nl": "/storingen/feed.atom", "en": "/status/feed.atom"})
def feed():
    """Serve the status page as an Atom feed, one entry per incident, updated with each update."""
    now = utcnow()
    shown = incidents.current(now) + incidents.planned(now) + incidents.recent(now)
    shown.sort(key=lambda i: i.latest.created_at if i.latest else i.created_at, reverse=True)
    updated = shown[0].latest.created_at if shown and shown[0].latest else now
    xml = render_template("status/feed.xml", incidents=shown, updated=updated)
    return Response(xml, mimetype="application/atom+xml")


@bp.route("/api/status")
@limiter.limit(lambda: current_app.config["API_STATUS_RATE_LIMIT"])
def status_json():
    """Answer what is going on, planned and recently resolved, in both languages."""
    now = utcnow()
    return jsonify({"current": [incidents.as_json(i) for i in incidents.current(now)],
                    "planned": [incidents.as_json(i) for i in incidents.planned(now)],
                    "recent": [incidents.as_json(i) for i in incidents.recent(now)]})


# -- the desk ----------------------------------------------------------------------------------

@localized_route(bp, {"nl": "/desk/storingen", "en": "/desk/incidents"})
@staff_required
def desk_list():
    """List incidents and maintenance for support, open ones first."""
    now = utcnow()
    return render_template("desk/incidents.html", current=incidents.current(now), planned=incidents.planned(now),
                           recent=incidents.recent(now, days=90))


@localized_route(bp, {"nl": "/desk/storingen/nieuw", "en": "/desk/incidents/new"}, methods=["GET", "POST"])
@staff_required
def desk_new():
    """Open an incident or announce planned maintenance."""
    form = IncidentForm()
    error = None
    if form.validate_on_submit():
        try:
            created = incidents.create_incident(
                current_user, form.kind.data, form.title_nl.data, form.title_en.data, form.description_nl.data,
                form.description_en.data, form.services.data, form.servers.data, form.domains.data,
                started_at=to_utc(form.started_at.data), ended_at=to_utc(form.ended_at.data))
        except incidents.IncidentError as exc:
            error = str(exc.args[0])
        else:
            return redirect(url_for("status.desk_incident", incident_id=created.id, created=1))
    status = 400 if request.method == "POST" else 200
    return render_template("desk/incident_new.html", form=form, error=error), status


@localized_route(bp, {"nl": "/desk/storingen/<int:incident_id>", "en": "/desk/incidents/<int:incident_id>"},
                 methods=["GET", "POST"])
@staff_required
def desk_incident(incident_id):
    """Show an incident with its linked tickets and followers; post an update, answering the tickets too."""
    found = found_or_404(incident_id)
    form = UpdateForm()
    error = None
    if form.validate_on_submit():
        answering = incidents.open_gathered_tickets(found) if form.answer_tickets.data else []
        try:
            update = incidents.post_update(found, current_user, form.status.data, form.body_nl.data,
                                           form.body_en.data, answered_users={t.user_id for t in answering})
        except incidents.IncidentError as exc:
            error = str(exc.args[0])
        else:
            for ticket in answering:  # one reply each: every customer gets their own mail with their own [#n]
                tickets.add_support_reply(ticket, current_user, incidents.reply_text(found, update, ticket.lang))
            return redirect(url_for("status.desk_incident", incident_id=found.id, posted=1, answered=len(answering)))
    elif request.method == "GET":
        form.status.data = found.status if found.status != "scheduled" else "investigating"
    return render_template("desk/incident.html", incident=found, form=form, error=error,
                           gathered=incidents.gathered_tickets(found), followers=incidents.followers(found),
                           posted=request.args.get("posted"), answered=request.args.get("answered", type=int),
                           created=request.args.get("created"),
                           is_current=incidents.is_current(found)), 400 if request.method == "POST" else 200
