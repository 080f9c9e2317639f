"""GET /healthz: for load balancers and monitoring."""

from flask import Blueprint, jsonify

from .. import health
from ..extensions import limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt  # asked every few seconds by every load balancer: never counted against a visitor
def healthz():
    """Answer 200 with the health report when this host can serve, 503 when it cannot."""
    report, healthy = health.check()
    response = jsonify(report)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
