"""deploy/: the files an operator copies are valid, and agree with the app (issue 14).

nginx -t on a configuration that includes the server block, and the block serving for real in
front of the app; systemd-analyze verify on the units; the gunicorn settings through gunicorn's
own validation; the example environment file through the production check. A missing nginx or
systemd-analyze skips its tests on a laptop and fails them under CI (scripts/check-test-tools).
"""

import json
import os
import re
import runpy
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import LiveServer

from helpsite.config import PROJECT_DIR

DEPLOY = PROJECT_DIR / "deploy"
UNITS = DEPLOY / "systemd"
NGINX_BLOCK = DEPLOY / "nginx" / "helpsite.conf"
ON_CI = os.environ.get("CI", "").lower() in ("true", "1")


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if not found:
        message = f"{name} is not installed (Debian: apt-get install {'nginx' if name == 'nginx' else 'systemd'})"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Write a throwaway certificate for help.example.nl and its key."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "help.example.nl")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("help.example.nl")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_config(tmp_path: Path, ports: tuple[int, int, int] | None = None) -> Path:
    """Return an nginx.conf that includes the server block as shipped, with test paths.

    ports (http, https, app), for running it: loopback listeners on those ports instead.
    """
    cert, key = self_signed(tmp_path)
    block = NGINX_BLOCK.read_text()
    block = block.replace("/etc/letsencrypt/live/help.example.nl/fullchain.pem", str(cert))
    block = block.replace("/etc/letsencrypt/live/help.example.nl/privkey.pem", str(key))
    block = block.replace("/srv/helpsite/app/", f"{PROJECT_DIR}/")
    if ports:
        http_port, https_port, app_port = ports
        block = re.sub(r"\n\s*listen \[::\]:\S+( ssl http2)?;", "", block)
        block = block.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        block = block.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
        block = block.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{app_port}")
    (tmp_path / "helpsite.conf").write_text(block)
    (tmp_path / "logs").mkdir(exist_ok=True)
    config = tmp_path / "nginx.conf"
    mime = "/etc/nginx/mime.types"
    config.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\ndaemon off;\n"
        + ("user root;\n" if os.geteuid() == 0 else "")
        + "events { worker_connections 64; }\n"
        f"http {{\n  {'include ' + mime + ';' if os.path.exists(mime) else ''}\n"
        f"  access_log {tmp_path}/logs/access.log;\n  include {tmp_path}/helpsite.conf;\n}}\n")
    return config


# -- nginx ---------------------------------------------------------------------------------------------

def test_nginx_accepts_the_server_block(tmp_path):
    nginx = tool("nginx")
    config = nginx_config(tmp_path)
    result = subprocess.run([nginx, "-t", "-c", str(config), "-p", str(tmp_path), "-e", "stderr"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_body_limit_and_static_folder_match_the_app(app):
    block = NGINX_BLOCK.read_text()
    size = re.search(r"client_max_body_size (\d+)([km]?);", block)
    limit = int(size.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[size.group(2)]
    assert limit == app.config["MAX_CONTENT_LENGTH"]
    alias = re.search(r"location /static/ \{\s*alias /srv/helpsite/app/(\S+);", block).group(1)
    assert (PROJECT_DIR / alias).resolve() == Path(app.static_folder).resolve()


@pytest.fixture
def nginx_in_front(tmp_path, make_app):
    """Run the shipped server block in a real nginx in front of the app (ProxyFix as the env example sets it)."""
    nginx = tool("nginx")
    app = make_app(SERVER_NAME=None, HELPSITE_URL="https://help.example.nl", PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    app.extensions["peer"] = seen = {}

    @app.get("/_peer")
    def peer():
        from flask import request
        seen.update(addr=request.remote_addr, scheme=request.scheme, url=request.url_root)
        return "ok"

    server = LiveServer(app)
    https_port, http_port = free_port(), free_port()
    config = nginx_config(tmp_path, (http_port, https_port, server.server.server_port))
    process = subprocess.Popen([nginx, "-c", str(config), "-p", str(tmp_path), "-e", str(tmp_path / "logs/error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        pytest.fail("nginx did not start: " + (tmp_path / "logs/error.log").read_text())
    yield app, https_port, http_port
    process.send_signal(signal.SIGQUIT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    server.stop()


def fetch(port, path, scheme="https", method="GET", data=None, headers=None):
    """Request through nginx for help.example.nl; return (status, headers, body)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}", method=method, data=data,
                                     headers={"Host": "help.example.nl", **(headers or {})})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect())
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_nginx_serves_the_site_over_tls_with_the_clients_address(nginx_in_front):
    app, https_port, http_port = nginx_in_front
    status, headers, body = fetch(http_port, "/en/", scheme="http")
    assert status == 301 and headers["Location"] == "https://help.example.nl/en/"
    status, headers, body = fetch(https_port, "/healthz")
    assert status == 200 and b'"status":"ok"' in body.replace(b" ", b"")
    # A visitor who sends their own X-Forwarded-For does not choose their address: nginx appends
    # the one it saw, and ProxyFix trusts only that last entry.
    fetch(https_port, "/_peer", headers={"X-Forwarded-For": "203.0.113.66"})
    assert app.extensions["peer"] == {"addr": "127.0.0.1", "scheme": "https", "url": "https://help.example.nl/"}


def test_nginx_serves_static_files_with_long_cache_headers(nginx_in_front):
    app, https_port, _ = nginx_in_front
    with app.test_request_context():
        from flask import url_for
        css = url_for("static", filename="css/site.css")
    assert re.search(r"/static/css/site\.css\?v=[0-9a-f]{12}$", css)
    status, headers, body = fetch(https_port, css)
    assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert body == (Path(app.static_folder) / "css" / "site.css").read_bytes()
    status, headers, _ = fetch(https_port, "/static/css/site.css")  # unversioned: a day
    assert status == 200 and headers["Cache-Control"] == "public, max-age=86400"
    assert fetch(https_port, "/static/../../wsgi.py")[0] in (400, 404)


def test_nginx_refuses_a_body_larger_than_the_app_accepts(nginx_in_front):
    app, https_port, _ = nginx_in_front
    too_large = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    status, _, _ = fetch(https_port, "/api/triage", method="POST", data=too_large,
                         headers={"Content-Type": "application/json"})
    assert status == 413


# -- systemd -------------------------------------------------------------------------------------------

def test_systemd_units_verify(tmp_path):
    analyze = tool("systemd-analyze")
    venv_bin = Path(sys.executable).parent
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/srv/helpsite/venv/bin/", f"{venv_bin}/")
        text = text.replace("/srv/helpsite/app", str(PROJECT_DIR))
        (tmp_path / unit.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # systemd only warns about an unknown key or section and runs the unit without it.
    assert not re.search(r"Unknown|ignoring|Failed", result.stdout + result.stderr), result.stderr


def test_each_timer_starts_a_shipped_service_and_each_command_exists(app):
    timers = list(UNITS.glob("*.timer"))
    assert {t.stem for t in timers} == {"helpsite-mail-send", "helpsite-poll-imap", "helpsite-content-sync",
                                        "helpsite-backup"}
    for timer in timers:
        target = re.search(r"^Unit=(\S+)$", timer.read_text(), re.M).group(1)
        assert (UNITS / target).exists(), f"{timer.name} starts {target}, which is not shipped"
    runner = app.test_cli_runner()
    # The command's words, up to its first option: `flask backup --output …` is ["backup"].
    commands = [re.search(r"bin/flask ((?:[a-z][\w-]* ?)+)", line).group(1).split()
                for unit in UNITS.glob("*.service") for line in unit.read_text().splitlines()
                if re.match(r"Exec\w*=.*bin/flask ", line)]
    assert ["mail", "run"] in commands and ["tickets", "poll-imap"] in commands and ["mail", "send"] in commands
    assert ["backup"] in commands
    for command in commands:
        result = runner.invoke(args=[*command, "--help"])
        assert result.exit_code == 0, f"flask {' '.join(command)}: {result.output}"


# -- gunicorn and the environment file --------------------------------------------------------------------

def test_gunicorn_settings_pass_gunicorns_validation(monkeypatch):
    from gunicorn.config import Config

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    config = Config()
    for name, value in settings.items():
        if name in config.settings:
            config.set(name, value)  # raises on a value gunicorn would refuse
    assert config.workers == 3 and config.worker_class_str == "gthread"
    assert config.wsgi_app == "wsgi:app" and config.secure_scheme_headers == {}


def run_checks(*environments: dict) -> list[list[str]]:
    """Return the production check's problems for each set of environment variables (one interpreter)."""
    code = ("import importlib, json, os, sys\nimport helpsite.config\nfrom helpsite import production\n"
            "answers = []\nfor environment in json.loads(sys.stdin.read()):\n"
            "    os.environ.clear(); os.environ.update(environment)\n"
            "    Config = importlib.reload(helpsite.config).Config\n"
            "    answers.append(production.problems({k: getattr(Config, k) for k in dir(Config) if k.isupper()}))\n"
            "print(json.dumps(answers))\n")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT_DIR)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=PROJECT_DIR,
                            input=json.dumps(list(environments)))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_example_environment_passes_the_check_once_its_key_is_replaced():
    example = {}
    for line in (DEPLOY / "helpsite.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    as_shipped, with_a_key, memory_limits = run_checks(
        example, {**example, "SECRET_KEY": "9" * 64},
        {**example, "SECRET_KEY": "9" * 64, "RATELIMIT_STORAGE_URI": "memory://"})
    assert len(as_shipped) == 1 and "SECRET_KEY" in as_shipped[0]  # the placeholder is refused
    assert with_a_key == []
    assert len(memory_limits) == 1 and "memory:// with 4 workers" in memory_limits[0]


# -- the outbox service's command ----------------------------------------------------------------------------

def test_mail_run_sends_the_outbox_until_stopped(app, tmp_path, smtp_server):
    sink, port = smtp_server
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": f"sqlite:///{tmp_path / 'mail.db'}",
           "HELPSITE_INSTANCE_DIR": str(tmp_path / "instance"),
           "HELPSITE_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],  # built already: the command need not build one
           "SECRET_KEY": "x" * 64, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port),
           "MAIL_BACKGROUND_SENDER": "0", "PYTHONPATH": str(PROJECT_DIR)}
    prepare = ("from helpsite import create_app, mail\nfrom helpsite.extensions import db\n"
               "app = create_app({'SEARCH_BUILD_ON_START': False, 'CONTENT_RELOAD_INTERVAL': None})\n"
               "with app.app_context():\n    db.create_all()\n"
               "    mail.queue_mail('klant@example.nl', 'Sent by the service', 'body')\n    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", prepare], env=env, check=True, cwd=PROJECT_DIR)
    service = subprocess.Popen([sys.executable, "-m", "flask", "mail", "run", "--interval", "0.5"], env=env,
                               cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not sink.messages and time.monotonic() < deadline and service.poll() is None:
            time.sleep(0.2)
    finally:
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=30)
    assert [m["Subject"] for m in sink.messages] == ["Sent by the service"], output
    assert service.returncode == 0, output  # SIGTERM ends it cleanly, as systemd stops it


def test_mail_run_sends_queued_mail_at_once_on_postgresql(app, tmp_path, smtp_server):
    """The outbox service LISTENs: a commit that queued mail wakes it long before its interval."""
    from helpsite import mail
    from helpsite.extensions import db

    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if not database.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; the suite's PostgreSQL run covers it")
    sink, port = smtp_server
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": database,
           "HELPSITE_INSTANCE_DIR": str(tmp_path / "instance"), "HELPSITE_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
           "SECRET_KEY": "x" * 64, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port),
           "MAIL_BACKGROUND_SENDER": "0", "PYTHONPATH": str(PROJECT_DIR)}
    service = subprocess.Popen([sys.executable, "-m", "flask", "mail", "run", "--interval", "120"], env=env,
                               cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first_line = service.stdout.readline()
        assert "on queued mail" in first_line, first_line
        with app.app_context():
            mail.queue_mail("klant@example.nl", "Woken by the commit", "body")
            db.session.commit()
        queued = time.monotonic()
        while not sink.messages and time.monotonic() - queued < 20 and service.poll() is None:
            time.sleep(0.1)
        waited = time.monotonic() - queued
    finally:
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=30)
    assert [m["Subject"] for m in sink.messages] == ["Woken by the commit"], output
    assert waited < 20  # the interval is 120 s: only the NOTIFY can have woken it
    assert service.returncode == 0, output


def test_a_rolled_back_mail_wakes_nobody_and_is_not_sent(app, smtp_server):
    """The NOTIFY is part of the transaction: a rollback takes the mail and the wake-up away."""
    from helpsite import mail
    from helpsite.extensions import db
    from helpsite.models import OutgoingMail

    sink, port = smtp_server
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        mail.queue_mail("klant@example.nl", "Never sent", "body")
        db.session.rollback()
        assert db.session.query(OutgoingMail).count() == 0
        assert mail.send_pending().sent == 0
    assert sink.messages == []
