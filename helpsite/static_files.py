"""Static URLs carry a hash of their file (/static/css/site.css?v=3f2a…), so nginx may let browsers
keep them for a year: a release that changes a file changes its URL.

The hashes are taken once per process; a release restarts the workers (deploy/systemd/helpsite.service).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from werkzeug.security import safe_join


def init_app(app) -> None:
    """Add v=<hash of the file> to every url_for("static", filename=...)."""
    versions: dict[str, str] = {}

    @app.url_defaults
    def add_static_version(endpoint, values):
        if endpoint != "static" or "v" in values or "filename" not in values:
            return
        filename = values["filename"]
        version = versions.get(filename)
        if version is None:
            path = safe_join(app.static_folder, filename)
            try:
                version = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12] if path else ""
            except OSError:  # no such file: the URL stays as it is and answers 404
                version = ""
            versions[filename] = version
        if version:
            values["v"] = version
