"""Security headers and error pages in the visitor's language."""

from flask import current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask.json.provider import DefaultJSONProvider
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

# What every response carries unless its view set the header itself, in this order.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


class SafeJSONProvider(DefaultJSONProvider):
    """JSON whose nesting is too deep for the parser is bad input (a 400), not a RecursionError (a 500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app):
    """Add the headers to every response and render errors as friendly pages."""
    app.json = SafeJSONProvider(app)
    if app.config.get("SESSION_COOKIE_SECURE"):  # the remember-me cookie logs in on its own: same rule
        app.config["REMEMBER_COOKIE_SECURE"] = True

    @app.after_request
    def add_security_headers(response):
        return secure(response)

    def secure(response):
        # A header the view set itself stays. Not Headers.setdefault: it finds a header missing by
        # raising and catching an exception, seven times on every response.
        headers = response.headers
        present = {name.lower() for name, _value in headers.items()}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        if app.config.get("SESSION_COOKIE_SECURE") and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
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
        if request_ctx.url_adapter is None:  # refused before routing (an untrusted Host): no page can be built
            return secure(current_app.response_class(f"{error.code} {message}\n", status=error.code,
                                                     mimetype="text/plain")), error.code
        if wants_json():
            return jsonify({"error": message}), error.code
        return render_template("error.html", code=error.code, message=message), error.code

    @app.errorhandler(500)
    def server_error(error):
        try:
            message = _("Something went wrong on our side. Nothing you typed was sent; please try again.")
            if wants_json():
                return jsonify({"error": message}), 500
            return render_template("error.html", code=500, message=message), 500
        except Exception:  # noqa: BLE001 - the page itself failed: a plain answer, still with our headers
            current_app.logger.exception("the error page failed too")
            return secure(current_app.response_class(
                "500 Internal Server Error\n", status=500, mimetype="text/plain")), 500
