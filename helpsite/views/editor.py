"""The editors' area: what readers miss, and a preview of an article before it is committed."""

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import format_date, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp

from .. import analytics, charts
from ..content import ID_PATTERN, MAX_ARTICLE_BYTES
from ..content_check import check_article_text
from ..extensions import articles, csrf
from ..i18n import LANGUAGES, localized_route
from .autoconfig import personal_guide

bp = Blueprint("editor", __name__)

DEFAULT_PERIOD = 30
VERDICTS = {
    "client_setup": _l("Email or FTP program setup: pointed to the guides"),
    "script": _l("Own scripts: pointed to documentation"),
    "self_service": _l("Self-service: pointed to Mijn Web://Xtra"),
    "ticket": _l("Ticket"),
}
# Text that was UTF-8 encoded twice ("Ã©" for "é", "â€™" for "’").
DOUBLE_ENCODED = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac")


@bp.before_request
def editors_only():
    """Let editors and admins in; send anonymous visitors to the login page."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_editor:
        abort(403)
    return None


def article_for(article_id: str):
    """Return an article for a dashboard row, in the editor's language where it exists, or None."""
    return articles.best(article_id, g.lang, include_drafts=True)


@localized_route(bp, {"nl": "/redactie/", "en": "/editors/"})
def dashboard():
    """Show what readers search for and miss, how articles are rated and how questions were routed."""
    days = request.args.get("period", type=int)
    if days not in analytics.PERIODS:
        days = DEFAULT_PERIOD
    since = analytics.period_start(days)
    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    per_day = analytics.searches_per_day(since, days, timezone)
    feedback_days = analytics.feedback_per_day(since, days, timezone)
    return render_template(
        "editor/dashboard.html",
        days=days,
        periods=analytics.PERIODS,
        totals=analytics.search_totals(since),
        zero_results=analytics.zero_result_searches(since),
        unclicked=analytics.unclicked_searches(since),
        feedback=analytics.feedback_per_article(since),
        verdicts=analytics.triage_per_verdict(since),
        verdict_names=VERDICTS,
        overrides=analytics.triage_overrides(since),
        linked=analytics.most_linked_articles(since),
        per_day=per_day,
        feedback_days=feedback_days,
        charts=dashboard_charts(per_day, feedback_days),
        article_for=article_for,
        percent=format_percent,
    )


def dashboard_charts(per_day: list[dict], feedback_days: list[dict]) -> dict:
    """Draw the trends of the period: searches, the share that found nothing, and helpfulness."""
    start, end = format_date(per_day[0]["day"], "long"), format_date(per_day[-1]["day"], "long")

    def label(day):
        return format_date(day, "d MMM")

    total = sum(d["searches"] for d in per_day)
    busiest = max(per_day, key=lambda d: d["searches"])
    if total:
        summary = ngettext("%(num)d search from %(start)s to %(end)s; the busiest day was %(day)s with %(count)d.",
                           "%(num)d searches from %(start)s to %(end)s; the busiest day was %(day)s with %(count)d.",
                           total, start=start, end=end, day=format_date(busiest["day"], "long"),
                           count=busiest["searches"])
    else:
        summary = _("No searches from %(start)s to %(end)s.", start=start, end=end)
    titles = {
        "searches": _("Searches per day"),
        "zero_share": _("Share of searches that found nothing, per day"),
        "helpful": _("Share of “Was this helpful?” answers that were yes, per day"),
    }
    searches = charts.bar_chart(
        "chart-searches", titles["searches"], summary,
        [charts.Point(label(d["day"]), d["searches"],
                      ngettext("%(day)s: %(num)d search", "%(day)s: %(num)d searches", d["searches"],
                               day=label(d["day"]))) for d in per_day],
        tick=lambda v: f"{v:g}")

    days_with_searches = [d for d in per_day if d["zero_share"] is not None]
    if days_with_searches:
        worst = max(days_with_searches, key=lambda d: d["zero_share"])
        zero_total = sum(d["zero"] for d in per_day)
        summary = _("%(share)s of all searches found nothing; the highest share was %(max)s on %(day)s. "
                    "Days without searches are left out.", share=format_percent(zero_total / total),
                    max=format_percent(worst["zero_share"]), day=format_date(worst["day"], "long"))
    else:
        summary = _("No searches from %(start)s to %(end)s.", start=start, end=end)
    zero_share = charts.line_chart(
        "chart-zero-share", titles["zero_share"], summary,
        [charts.Point(label(d["day"]), d["zero_share"],
                      _("%(day)s: %(share)s found nothing", day=label(d["day"]), share=format_percent(d["zero_share"]))
                      if d["zero_share"] is not None else "") for d in per_day],
        tick=format_percent)

    yes = sum(d["yes"] for d in feedback_days)
    answers = yes + sum(d["no"] for d in feedback_days)
    if answers:
        summary = ngettext("%(share)s of %(num)d answer was yes. Days without answers are left out.",
                           "%(share)s of %(num)d answers were yes. Days without answers are left out.",
                           answers, share=format_percent(yes / answers))
    else:
        summary = _("No answers to “Was this helpful?” from %(start)s to %(end)s.", start=start, end=end)
    helpful = charts.line_chart(
        "chart-helpful", titles["helpful"], summary,
        [charts.Point(label(d["day"]), d["share"],
                      _("%(day)s: %(yes)d yes, %(no)d no", day=label(d["day"]), yes=d["yes"], no=d["no"])
                      if d["share"] is not None else "") for d in feedback_days],
        tick=format_percent)
    drawn = {"searches": searches, "zero_share": zero_share, "helpful": helpful}
    return {name: {"title": titles[name], "svg": svg} for name, svg in drawn.items()}


# -- preview --------------------------------------------------------------------------------

class PreviewForm(FlaskForm):
    lang = SelectField(_l("Language of the article"), choices=[SelectChoice("nl", _l("Dutch")), SelectChoice("en", _l("English"))],
                       default="nl")
    slug = StringField(_l("File name (slug), without .md"), validators=[
        Optional(), Length(max=100, message=_l("Use at most %(max)d characters.")),
        Regexp(ID_PATTERN, message=_l("Use lowercase letters, digits and hyphens only."))])
    text = TextAreaField(_l("Article text (front matter and markdown)"), validators=[
        Length(max=MAX_ARTICLE_BYTES, message=_l("The article is larger than %(max)d characters."))])
    upload = FileField(_l("Or choose a markdown file"))


def input_error(code: str | None, line: int = 1) -> str | None:
    """Return the editor's explanation of input that cannot be read as an article at all, or None."""
    messages = {
        "too_large": lambda: _("The article is larger than %(kib)d KiB. Split it into smaller articles.",
                               kib=MAX_ARTICLE_BYTES // 1024),
        "encoding": lambda: _("The file is not saved as UTF-8 (the problem starts on line %(line)d). "
                              "Save it as UTF-8 in your editor and try again.", line=line),
        "binary": lambda: _("This is not a text file. Choose the markdown (.md) file of the article."),
    }
    return messages[code]() if code in messages else None


@localized_route(bp, {"nl": "/redactie/voorbeeld", "en": "/editors/preview"}, methods=["GET", "POST"])
@csrf.exempt  # checked by the form itself, so that a refused token keeps the pasted text
def preview():
    """Render a pasted or uploaded article as the site would show it, with the content check's findings."""
    form = PreviewForm(lang=g.lang)  # the editor's language, unless they choose another
    context = {"form": form, "article": None, "findings": None, "refused": None, "notices": [],
               "max_kib": MAX_ARTICLE_BYTES // 1024}
    if request.method == "GET":
        return render_template("editor/preview.html", **context)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            context["refused"] = _("This form had expired. Nothing is lost: send it again.")
        return render_template("editor/preview.html", **context), 400

    upload = form.upload.data
    if upload and upload.filename:
        raw = upload.read(MAX_ARTICLE_BYTES + 1)
        stem = Path(upload.filename).stem.lower()
        slug = form.slug.data or (stem if ID_PATTERN.match(stem) else "")
        context["notices"].append(_("Previewed the file %(name)s; its text is now in the text field.",
                                    name=upload.filename))
    else:
        raw = (form.text.data or "").encode("utf-8")
        slug = form.slug.data
    if not raw.strip():
        form.text.errors = [_("Paste the text of an article, or choose a file.")]
        return render_template("editor/preview.html", **context), 400

    lang = form.lang.data if form.lang.data in LANGUAGES else "nl"
    article, findings = check_article_text(raw, lang, slug or "preview", articles)
    if article is not None and not slug:  # no file name given: it would be saved under its id
        slug = article.id
        article, findings = check_article_text(raw, lang, slug, articles)
    form.slug.data = slug
    refused = findings[0] if article is None and findings and findings[0].code else None
    if refused is not None:
        context["refused"] = input_error(refused.code, refused.line)
        return render_template("editor/preview.html", **context), 400

    text = raw.decode("utf-8-sig")
    form.text.data = text.replace("\r\n", "\n")
    if DOUBLE_ENCODED.search(text):
        context["notices"].append(_("The text contains letter pairs like “Ã©” where “é” was meant: it was probably "
                                    "converted to UTF-8 twice. Check the accented letters."))
    context["findings"] = findings
    if article is None:
        return render_template("editor/preview.html", **context)
    guide = personal_guide(article)  # the mail or FTP setup box, as readers get it
    context.update(
        article=article,
        article_html=articles.render_text(article.body, article.lang, article.id),
        setup=guide.get("setup"),
        fallback=False,
        related=articles.related(article),
        category=articles.category(article.category),
        alternates={},
        hreflang={},
        canonical=None,
    )
    return render_template("editor/preview.html", **context)
