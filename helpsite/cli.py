"""Command-line tools: content checks, the search index, users, mail, backups and demo data."""

import datetime as dt
import signal
import sys
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import accounts, backup, health, mail, mail_in, translations, triage
from .content_check import check_content
from .extensions import articles, db, search_index
from .models import PLANS, ROLES
from .outbox_sender import OutboxWakeups

content_cli = AppGroup("content", help="Check and inspect the articles.")
search_cli = AppGroup("search", help="Build and inspect the search index.")
translate_cli = AppGroup("translate", help="Keep the interface catalogs (translations/) in step.")


@content_cli.command("check")
@click.option("--strict", is_flag=True, help="Treat warnings (missing translations) as errors.")
def content_check(strict):
    """Validate all articles (front matter, ids, slugs, links, translations, images) and the triage rules."""
    problems = check_content(current_app.config["CONTENT_DIR"])
    for problem in problems:
        click.echo(str(problem), err=not problem.warning)
    errors = [p for p in problems if strict or not p.warning]
    warnings = len(problems) - len(errors)
    # The triage rules are content too: their schema, and the articles they point to.
    rule_problems = triage.check_rules(articles._get_current_object())
    for problem in rule_problems:
        click.echo(problem, err=True)
    errors += rule_problems
    count = sum(len(a) for a in articles.by_lang.values())
    click.echo(f"{count} articles checked: {len(errors)} error(s), {warnings} warning(s).")
    sys.exit(1 if errors else 0)


@search_cli.command("build")
def search_build():
    """Rebuild the search index from the content, with a progress bar."""
    if search_index.built_at_start and search_index.is_current():
        # Loading the app found no index (an empty folder) and built it: building again would
        # only double the wait.
        stats = search_index.stats()
        click.echo(f"Indexed {stats.get('articles')} articles in {stats.get('seconds')} s "
                   f"into {search_index.current_link.resolve()}.")
        return
    with click.progressbar(length=1, label="Indexing articles", show_pos=True) as bar:
        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)
        target = search_index.build(progress=progress)
    stats = search_index.stats()
    click.echo(f"Indexed {stats.get('articles')} articles in {stats.get('seconds')} s into {target}.")


@search_cli.command("status")
def search_status():
    """Say whether the index is built and current."""
    stats = search_index.stats()
    if not stats["built"]:
        click.echo("No search index yet: run flask search build.")
        sys.exit(1)
    if stats["problem"]:
        click.echo(f"The search index is broken ({stats['problem']}): run flask search build.")
        sys.exit(1)
    state = "current" if stats["current"] else "out of date"
    click.echo(f"{stats['articles']} articles, built in {stats['seconds']} s, {state}.")
    # The same version /healthz shows: hosts that print the same one answer from the same content.
    click.echo(f"content version {health.content_version()}")


@translate_cli.command("update")
def translate_update():
    """Extract the marked strings and merge them into the nl and en catalogs."""
    translations.update()


@translate_cli.command("compile")
def translate_compile():
    """Compile the catalogs for Flask-Babel."""
    translations.compile_catalogs()


@translate_cli.command("check")
def translate_check():
    """List messages that are untranslated or fuzzy; exit non-zero when there are any."""
    problems = [f"{lang}: {p}" for lang in ("nl", "en") for p in translations.untranslated(lang)]
    for problem in problems:
        click.echo(problem)
    click.echo(f"{len(problems)} problem(s).")
    sys.exit(1 if problems else 0)


users_cli = AppGroup("users", help="Create users and give customers their domains.")
mail_cli = AppGroup("mail", help="Send what waits in the outbox.")
demo_cli = AppGroup("demo", help="Demo data for trying the site.")

DEMO_USERS = [
    # email, password, role, plan, name, domains
    ("klant@bakkerij-jansen.nl", "demo-klant-2026", "customer", "standard", "Bakkerij Jansen",
     ["bakkerij-jansen.nl", "jansen-taarten.nl"]),
    ("it@groothandel-devries.nl", "demo-managed-2026", "customer", "managed", "Groothandel De Vries",
     ["groothandel-devries.nl"]),
    ("owner@example-shop.com", "demo-customer-2026", "customer", "standard", "Example Shop", ["example-shop.com"]),
    ("support@webxtra.nl", "demo-support-2026", "support", "standard", "Sanne (support)", []),
    ("redactie@webxtra.nl", "demo-editor-2026", "editor", "standard", "Eva (editor)", []),
    ("admin@webxtra.nl", "demo-admin-2026x", "admin", "standard", "Admin", []),
]


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="customer", show_default=True)
@click.option("--plan", type=click.Choice(PLANS), default="standard", show_default=True)
@click.option("--name", default="")
@click.option("--locale", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@click.option("--domain", "domains", multiple=True, help="A domain of the customer (repeatable).")
@click.password_option(help="At least 12 characters; asked for when not given.")
def users_create(email, role, plan, name, locale, domains, password):
    """Create a user with a hashed password and optional domains."""
    try:
        user = accounts.create_user(email, password, role=role, plan=plan, name=name, locale=locale,
                                    domains=domains)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role} {user.email} ({user.plan}) with domains: "
               f"{', '.join(d.name for d in user.domains) or '-'}")


@users_cli.command("add-domain")
@click.argument("email")
@click.argument("domain")
def users_add_domain(email, domain):
    """Give an existing customer a domain."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    try:
        accounts.assign_domain(user, domain)
        db.session.commit()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"{user.email} now has: {', '.join(d.name for d in user.domains)}")


@mail_cli.command("send")
@click.option("--now", "now", is_flag=True, help="Also send mail that pauses after a failed attempt.")
def mail_send(now):
    """Send what is due in the outbox (from cron); report given-up mail and exit 1 while there is any."""
    report = mail.send_pending(limit=100_000, ignore_pause=now)
    failed = mail.given_up()
    click.echo(f"{report.sent} sent, {report.waiting} still waiting, {len(failed)} given up.")
    for row in failed:
        click.echo(f"  given up: mail {row.id} to {row.recipient} ({row.subject}) after {row.attempts} "
                   f"attempt(s): {row.last_error}; retry with: flask mail retry {row.id}", err=True)
    sys.exit(1 if failed else 0)


@mail_cli.command("run")
@click.option("--interval", type=float, default=None, help="Seconds between rounds (default: MAIL_SEND_INTERVAL).")
def mail_run(interval):
    """Send the outbox until stopped (the helpsite-outbox service).

    On PostgreSQL it sends as soon as a commit queued mail (LISTEN/NOTIFY), and every interval
    seconds for retries; on SQLite every interval seconds.
    """
    interval = interval if interval is not None else float(current_app.config["MAIL_SEND_INTERVAL"])
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    wakeups = OutboxWakeups(db.engine, interval, stopped)
    wakeups.listen()
    woken_by = "queued mail and " if wakeups.listening else ""
    click.echo(f"Sending the outbox on {woken_by}every {interval:g} s; stop with SIGTERM.")
    try:
        while not stopped.is_set():
            try:
                report = mail.send_pending()
                if report.sent:
                    click.echo(f"{report.sent} sent, {report.waiting} still waiting.")
            except Exception as exc:  # noqa: BLE001 - a database or SMTP hiccup: the mail waits, the next round tries
                db.session.rollback()
                click.echo(f"sending failed ({type(exc).__name__}: {exc}); trying again in {interval:g} s", err=True)
            finally:
                db.session.remove()
            wakeups.wait()
    finally:
        wakeups.close()


@mail_cli.command("retry")
@click.argument("mail_ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Retry every given-up mail.")
def mail_retry(mail_ids, everything):
    """Put given-up mails back in the outbox, then send."""
    if not mail_ids and not everything:
        raise click.UsageError("name the mail ids, or --all")
    count = mail.retry(None if everything else mail_ids)
    report = mail.send_pending(ignore_pause=True)
    click.echo(f"{count} mail(s) back in the outbox; {report.sent} sent, {report.waiting} still waiting.")


@demo_cli.command("seed")
def demo_seed():
    """Create the demo accounts (once) and print their logins."""
    for email, password, role, plan, name, domains in DEMO_USERS:
        if accounts.find_user(email) is None:
            accounts.create_user(email, password, role=role, plan=plan, name=name, domains=domains,
                                 locale="en" if email.endswith(".com") else "nl")
    click.echo("Demo accounts (email / password / role):")
    for email, password, role, plan, name, domains in DEMO_USERS:
        extra = f", {plan}, domains {', '.join(domains)}" if role == "customer" else ""
        click.echo(f"  {email:28} {password:20} {role}{extra}")


tickets_cli = AppGroup("tickets", help="Tickets by mail: take in received mail.")
EX_TEMPFAIL = 75  # sysexits.h: the mail server keeps the message and delivers it again later


def _read_message(stream, limit: int) -> bytes:
    """Read one message, at most limit + 1 bytes of it; drain the rest so the mail server sees success."""
    raw = stream.read(limit + 1)
    while stream.read(1024 * 1024):
        pass
    return raw


def _send_outbox() -> None:
    try:
        mail.send_pending()
    except Exception as exc:  # noqa: BLE001 - the outbox keeps the mail; `flask mail send` retries it
        click.echo(f"mail not sent yet ({exc}); it waits in the outbox", err=True)


@tickets_cli.command("ingest")
def tickets_ingest():
    """Process one RFC 822 mail from standard input (a mail server's pipe delivery)."""
    raw = _read_message(sys.stdin.buffer, int(current_app.config["MAIL_IN_MAX_BYTES"]))
    try:
        # A mail that fails is not kept here: the mail server keeps it and delivers it again.
        result = mail_in.ingest(raw, keep_failures=False)
    except Exception as exc:  # noqa: BLE001 - nothing was done: the mail server must try again
        click.echo(f"not processed and not kept, try again later: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EX_TEMPFAIL)
    click.echo(str(result))
    _send_outbox()


@tickets_cli.command("poll-imap")
@click.option("--limit", default=200, show_default=True, help="At most this many mails per run.")
def tickets_poll_imap(limit):
    """Process the unseen mails in the IMAP mailbox (IMAP_HOST, IMAP_USER, ...) and mark them seen."""
    try:
        report = mail_in.poll_imap(limit=limit)
    except Exception as exc:  # noqa: BLE001 - cannot reach or open the mailbox: say so, cron tries again
        raise click.ClickException(f"IMAP polling failed: {type(exc).__name__}: {exc}") from None
    for result in report.results:
        click.echo(str(result))
    click.echo(f"{len(report.results)} mail(s) processed, {report.failed} left for the next poll.")
    _send_outbox()
    if report.failed:
        sys.exit(1)


@click.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (default: helpsite-backup-<UTC time>.tar.gz here).")
@with_appcontext
def backup_command(output):
    """Write the database (one consistent copy) and the instance secrets into one archive."""
    if output is None:
        output = Path(f"helpsite-backup-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}.tar.gz")
    try:
        manifest = backup.create_backup(output, current_app.config["SQLALCHEMY_DATABASE_URI"],
                                        current_app.instance_path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    tables = manifest["database"]["tables"]
    click.echo(f"Wrote {output} ({output.stat().st_size} bytes, readable by its owner only): "
               f"{manifest['database']['kind']}, {len(tables)} tables, {sum(tables.values())} rows, "
               f"secrets: {', '.join(manifest['secrets']) or 'none in the instance folder'}.")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that has tables, and differing instance secrets.")
@with_appcontext
def restore_command(archive, force):
    """Restore a `flask backup` archive into this site's (empty) database and instance folder."""
    try:
        manifest = backup.restore_backup(archive, current_app.config["SQLALCHEMY_DATABASE_URI"],
                                         current_app.instance_path, force=force)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    tables = manifest["database"]["tables"]
    click.echo(f"Restored the backup of {manifest['created_at']}: {len(tables)} tables, {sum(tables.values())} rows, "
               f"every table as in the backup. Now: flask db upgrade, then flask search build.")


def init_app(app):
    """Register the command groups."""
    app.cli.add_command(content_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(translate_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(tickets_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
