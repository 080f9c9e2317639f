"""Security headers and error pages in the visitor's language."""

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

# Scripts and styles come from our own origin only; no inline script, so an injected
# <script> cannot run even if escaping failed somewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app):
    """Add the headers to every response and render errors as friendly pages."""

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _("This form has expired or was sent from somewhere else. "
                    "Your text is still below: please send it again.")
        current_app.logger.info("CSRF refusal on %s: %s", request.path, error.description)
        if wants_json():
            return jsonify({"error": message}), 400
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        messages = {
            400: _("The request could not be understood."),
            401: _("Please log in to see this page."),
            403: _("You do not have access to this page."),
            404: _("We could not find this page. Try searching for what you need."),
            405: _("This page cannot be used that way."),
            413: _("What you sent is too large."),
            429: _("Too many attempts. Please wait a moment and try again."),
        }
        message = messages.get(error.code, error.description)
        if wants_json():
            return jsonify({"error": message}), error.code
        return render_template("error.html", code=error.code, message=message), error.code

    @app.errorhandler(500)
    def server_error(error):
        message = _("Something went wrong on our side. Nothing you typed was sent; please try again.")
        if wants_json():
            return jsonify({"error": message}), 500
        return render_template("error.html", code=500, message=message), 500
