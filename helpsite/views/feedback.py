"""Readers answer "Was this helpful?" under every article.

The form carries no CSRF token, so that an article page is the same for every anonymous
reader and can be served from the page cache. Cross-site forgery is refused instead by
what the browser says about where the form was sent from (Sec-Fetch-Site, else Origin,
else Referer): a page on another site cannot make a browser claim it is this one, and the
session cookie is SameSite=Lax besides. A request that says nothing is refused too.
"""

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from .. import analytics
from ..extensions import articles, csrf, limiter
from ..i18n import localized_route
from .kb import sees_drafts

bp = Blueprint("feedback", __name__)

# Article ids this browser answered: one answer each, and kb/_feedback.html shows the thanks instead.
ANSWERED_KEY = "feedback_answered"
MAX_REMEMBERED = 50


class FeedbackForm(FlaskForm):
    class Meta:
        csrf = False  # see sent_from_this_site()

    # Carries the refusal message for kb/_feedback.html; the form sends no token.
    csrf_token = HiddenField()
    # The value of the Yes or No button pressed.
    helpful = StringField(validators=[DataRequired(_l("Choose Yes or No.")),
                                      AnyOf(["yes", "no"], message=_l("Choose Yes or No."))])
    comment = TextAreaField(_l("Your comment (optional)"), validators=[
        Length(max=analytics.MAX_COMMENT_LENGTH, message=_l("Use at most %(max)d characters."))])


def sent_from_this_site() -> bool:
    """Return whether the browser says this POST comes from a page of this site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    source = request.headers.get("Origin")
    if not source or source == "null":
        source = request.headers.get("Referer")
    if not source:
        return False
    return urlsplit(source).netloc.lower() == request.host.lower()


def answered() -> list[str]:
    """Return the ids of the articles this visitor already answered "Was this helpful?" for."""
    value = session.get(ANSWERED_KEY)
    return value if isinstance(value, list) else []


@localized_route(bp, {"nl": "/artikel-feedback/<article_id>", "en": "/article-feedback/<article_id>"},
                 methods=["GET", "POST"])
@csrf.exempt  # no token: checked by sent_from_this_site(), and a refusal keeps the reader's comment
@limiter.limit(lambda: current_app.config.get("FEEDBACK_RATE_LIMIT", "20/hour"), methods=["POST"])
def submit(article_id):
    """Store a reader's answer to "Was this helpful?" and thank them on the article page."""
    article = articles.best(article_id, g.lang, include_drafts=sees_drafts())
    if article is None:
        abort(404)
    # The article in the reader's language, or the other language's version shown with a notice.
    back = url_for("kb.article", lang=g.lang, slug=article.slug, _anchor="feedback")
    if request.method == "GET":
        return redirect(back)
    form = FeedbackForm()
    if not sent_from_this_site():
        form.csrf_token.errors = [_("This answer was not sent from our site, so it was not counted. "
                                    "Nothing is lost: check your comment and send it again.")]
        current_app.logger.info("feedback refused: not sent from this site (%s)", request.headers.get("Origin"))
        return render_template("kb/feedback.html", form=form, article=article), 400
    if not form.validate_on_submit():
        return render_template("kb/feedback.html", form=form, article=article), 400
    seen = answered()
    if article.id not in seen:  # a second click (or a reload) is thanked again, not counted again
        analytics.record_feedback(article.id, g.lang, form.helpful.data == "yes", form.comment.data)
        session[ANSWERED_KEY] = (seen + [article.id])[-MAX_REMEMBERED:]
    if form.helpful.data == "no":  # not helped: land on "Still need help?", the way to the question form
        back = url_for("kb.article", lang=g.lang, slug=article.slug, _anchor="still-need-help")
    return redirect(back, code=303)
