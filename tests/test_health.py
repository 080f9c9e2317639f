"""GET /healthz and the content version in `flask search status` (issue 14)."""

import datetime as dt

from helpsite import create_app, mail
from helpsite.config import TestingConfig
from helpsite.extensions import articles, db


def test_a_healthy_host_answers_200_with_its_content_version(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    report = response.get_json()
    with app.app_context():
        version = articles.version
    assert report == {"status": "ok", "database": "ok", "index": "current", "content_version": version,
                      "outbox": {"waiting": 0, "oldest_seconds": 0, "given_up": 0}}


def test_health_names_no_secret(app, client):
    body = client.get("/healthz").get_data(as_text=True)
    assert app.config["SECRET_KEY"] not in body
    assert app.config["SQLALCHEMY_DATABASE_URI"] not in body
    assert "set-cookie" not in {name.lower() for name in client.get("/healthz").headers.keys()}


def test_the_outbox_backlog_is_counted_but_does_not_fail_the_host(app, client):
    with app.app_context():
        queued = mail.queue_mail("klant@example.nl", "Waiting", "body")
        queued.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        given_up = mail.queue_mail("other@example.nl", "Given up", "body")
        given_up.failed_at = dt.datetime.now(dt.timezone.utc)
        db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200  # a down SMTP server must not take every host out of the balancer
    outbox = response.get_json()["outbox"]
    assert outbox["waiting"] == 1 and outbox["given_up"] == 1
    assert 290 <= outbox["oldest_seconds"] <= 400


def test_a_host_without_an_index_answers_503(make_app, tmp_path):
    app = make_app(SEARCH_INDEX_DIR=str(tmp_path / "empty-index"), SEARCH_BUILD_ON_START=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["index"] == "missing" and response.get_json()["status"] == "fail"


def test_an_unreachable_database_answers_503_without_the_error(closed_port, tmp_path, shared_index_dir):
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    url = f"postgresql+psycopg://postgres:hunter2-secret@127.0.0.1:{closed_port}/nothing"
    config.update(SECRET_KEY="test-secret", SQLALCHEMY_DATABASE_URI=url, SEARCH_INDEX_DIR=str(shared_index_dir),
                  SERVER_NAME="help.test")
    app = create_app(config)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["connect_timeout"] == 5  # never hangs the check
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        report = response.get_json()
        assert report["database"] == "unreachable" and report["status"] == "fail"
        assert "hunter2" not in response.get_data(as_text=True)
        assert str(closed_port) not in response.get_data(as_text=True)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_search_status_prints_the_content_version(app, runner):
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert f"content version {articles.version}" in result.output
