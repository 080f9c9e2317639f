"""Two app hosts on one PostgreSQL and one Redis (issue 14): do they work as one site?

Run from the project folder with a PostgreSQL database of your own (it is emptied) and a Redis
database number of your own (it is flushed):

    .venv/bin/python bench/two_hosts.py --database postgresql+psycopg://postgres@127.0.0.1:5432/mydb \\
        --redis redis://127.0.0.1:6379/3

Everything runs on loopback, in production mode (HELPSITE_ENV=production, so the start-up check
passes too): two gunicorn instances (2 workers x 4 threads each, as bench/faults.py starts them)
on two ports, each with its own scratch folder, search index and content checkout (a clone of a
scratch "origin" repository, as in README "Deployment") and its own `flask mail run` process (the
helpsite-outbox service; the web workers do not send); a real SMTP server (aiosmtpd) that counts mail by Message-ID. Then:

1. tickets: N clients log in and send questions through the real form, round-robin over both
   hosts request by request (the form from one host, the post to the other: sessions and CSRF
   tokens must hold across hosts). Every confirmation must arrive once, every number be unique.
2. login limits: failed logins for one account, alternating hosts, must hit one shared limit
   (LOGIN_ACCOUNT_RATE_LIMIT, 10 per 15 minutes), not one per host.
3. content: an editor pushes a changed article to origin; each host pulls every --sync-interval
   seconds (helpsite-content-sync.timer's `git pull --ff-only`, at a random phase per host);
   measured: from the push until both hosts report the same new content version in /healthz and
   find the new word through /api/search.

It prints the figures and exits 1 when one is wrong. It reuses bench/faults.py's Sink, Site,
Customer and send_tickets.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import PROJECT_DIR, Customer, Sink, Site, send_tickets, wait_for_mail  # noqa: E402

SECRET_KEY = "two-hosts-" + "5e" * 32  # the same on both hosts, as production requires
ACCOUNT_LIMIT = "10/15 minutes"
NEW_WORD = "zebravinkproef"
CHANGED_ARTICLE = "articles/nl/e-mail-blijft-in-postvak-uit.md"
CHANGED_ID = "email-stuck-in-outbox"


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", "-c", "user.name=Eva (editor)", "-c", "user.email=redactie@webxtra.nl", *args],
                            cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


class Host(Site):
    """One app host: a bench/faults.py Site in production mode, with its own content checkout and Redis limits."""

    def __init__(self, name: str, work: Path, database: str, smtp_port: int, redis_url: str, origin: Path):
        work.mkdir(parents=True)
        super().__init__(PROJECT_DIR, work, database, smtp_port)
        self.name = name
        self.checkout = work / "content-checkout"
        git("clone", "--quiet", str(origin), str(self.checkout), cwd=work)
        # The app file of faults.py turns rate limits off; here they are on, counted in Redis.
        (work / "faults_app.py").write_text(
            "from helpsite import create_app\n"
            "app = create_app({'SEARCH_HEAL_INTERVAL': 5, 'API_SEARCH_RATE_LIMIT': '100000/minute'})\n")
        self.env.update({
            "HELPSITE_ENV": "production", "SECRET_KEY": SECRET_KEY, "WEB_CONCURRENCY": "2",
            "RATELIMIT_STORAGE_URI": redis_url, "HELPSITE_CONTENT_DIR": str(self.checkout / "content"),
            "HELPSITE_INSTANCE_DIR": str(work / "instance"), "ASK_RATE_LIMIT": "100000/hour",
            # Per client address: every client here is 127.0.0.1, so only the per-account limit is measured.
            "LOGIN_RATE_LIMIT": "100000/hour", "LOGIN_ACCOUNT_RATE_LIMIT": ACCOUNT_LIMIT,
        })

    def get_json(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, {}
        except (OSError, ValueError):
            return 0, {}

    def pull(self) -> bool:
        """Do what helpsite-content-sync.service does; return True when it brought a new commit."""
        before = git("rev-parse", "HEAD", cwd=self.checkout)
        git("pull", "--ff-only", "--quiet", cwd=self.checkout)
        return git("rev-parse", "HEAD", cwd=self.checkout) != before


class RoundRobinCustomer(Customer):
    """A browser whose every request goes to the next host: one site to it, two hosts behind it."""

    requests_per_host: Counter = Counter()
    lock = threading.Lock()

    def __init__(self, hosts: list[Host], number: int):
        super().__init__(hosts[0], number)
        self.hosts, self.turn = hosts, number

    def request(self, path, data=None, timeout=30):
        self.site = self.hosts[self.turn % len(self.hosts)]
        self.turn += 1
        with self.lock:
            self.requests_per_host[self.site.name] += 1
        return super().request(path, data, timeout)


class Collected(list):
    """The confirmed ticket numbers as a list (send_tickets adds to a set): duplicates stay visible."""

    def add(self, number):
        self.append(number)


def tickets_phase(hosts, sink, args) -> dict:
    confirmed, failures = Collected(), Counter()
    started = time.monotonic()
    send_tickets(hosts, args.clients, args.tickets, confirmed, failures, customer_class=RoundRobinCustomer)
    sent_in = time.monotonic() - started
    waited = wait_for_mail(sink, set(confirmed), 180)
    time.sleep(3)  # a late duplicate would arrive now
    with sink.lock:
        mails = [m for m in sink.mails if m["X-Ticket-Number"]]
    per_message_id = Counter(m["Message-ID"] for m in mails)
    mailed_tickets = Counter(int(m["X-Ticket-Number"]) for m in mails)
    stored = hosts[0].stored_tickets()
    return {
        "tickets": len(confirmed), "distinct": len(set(confirmed)), "stored": len(stored & set(confirmed)),
        "failures": dict(failures), "seconds": round(sent_in, 1), "mail_wait": round(waited, 1),
        "mails_sent": len(set(mailed_tickets) & set(confirmed)),
        "mail_duplicates": sum(c - 1 for c in per_message_id.values()),
        "tickets_mailed_twice": sum(1 for c in mailed_tickets.values() if c > 1),
        "mails_lost": len(set(confirmed) - set(mailed_tickets)),
        "requests_per_host": dict(RoundRobinCustomer.requests_per_host),
    }


def login_limit_phase(hosts) -> dict:
    """Fail logins for one account on alternating hosts until both hosts answer 429."""
    statuses = []
    for attempt in range(40):
        host = hosts[attempt % 2]
        browser = Customer(host, 0)
        _, page, _ = browser.request("/nl/inloggen")
        status, _, _ = browser.request("/nl/inloggen", {"csrf_token": browser.token(page), "email": "klant0@klant0.nl",
                                                        "password": f"wrong-guess-{attempt}"})
        statuses.append((host.name, status))
        if {name for name, s in statuses if s == 429} == {h.name for h in hosts}:
            break
    first_refusal = next((i for i, (_, s) in enumerate(statuses) if s == 429), len(statuses))
    accepted = Counter(name for name, s in statuses[:first_refusal] if s != 429)
    after = {s for _, s in statuses[first_refusal:]}
    return {"accepted_before_limit": first_refusal, "accepted_per_host": dict(accepted),
            "refused_afterwards_on_both": after == {429}, "attempts": len(statuses)}


def content_phase(hosts, editor: Path, args) -> dict:
    """Push a changed article; each host pulls on its own timer; time until both serve it."""
    before = {h.name: h.get_json("/healthz")[1].get("content_version") for h in hosts}
    pulled_at: dict[str, float] = {}
    stop = threading.Event()

    def timer(host: Host):
        stop.wait(random.uniform(0, args.sync_interval))  # each host's timer has its own phase
        while not stop.is_set():
            if host.pull():
                pulled_at.setdefault(host.name, time.monotonic())
            stop.wait(args.sync_interval)

    article = editor / "content" / CHANGED_ARTICLE
    article.write_text(article.read_text() + f"\nTip van de redactie: de {NEW_WORD} helpt bij een volle outbox.\n")
    git("commit", "--quiet", "-am", "Tip toegevoegd", cwd=editor)
    git("push", "--quiet", "origin", "HEAD", cwd=editor)
    pushed = time.monotonic()
    threads = [threading.Thread(target=timer, args=(h,), daemon=True) for h in hosts]
    for thread in threads:
        thread.start()
    seen_at: dict[str, float] = {}
    versions: dict[str, str] = {}
    deadline = pushed + args.sync_interval + 120
    query = "/api/search?" + urllib.parse.urlencode({"q": NEW_WORD, "lang": "nl"})
    while time.monotonic() < deadline and len(seen_at) < len(hosts):
        for host in hosts:
            if host.name in seen_at:
                continue
            version = host.get_json("/healthz")[1].get("content_version")
            found = [r["id"] for r in host.get_json(query)[1].get("results", [])]
            if version and version != before[host.name] and CHANGED_ID in found:
                seen_at[host.name], versions[host.name] = time.monotonic(), version
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return {
        "versions_before_equal": len(set(before.values())) == 1,
        "versions_after_equal": len(versions) == len(hosts) and len(set(versions.values())) == 1,
        "converged_seconds": round(max(seen_at.values()) - pushed, 1) if len(seen_at) == len(hosts) else None,
        "apply_seconds": {name: round(seen_at[name] - pulled_at[name], 2)
                          for name in seen_at if name in pulled_at},
        "pulled_after": {name: round(at - pushed, 1) for name, at in pulled_at.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test_prod",
                        help="a PostgreSQL database of your own: it is emptied")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3", help="a Redis database of your own: flushed")
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--sync-interval", type=float, default=10.0,
                        help="seconds between each host's content pulls (the timer ships with 60)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    if not args.database.startswith("postgresql"):
        parser.error("two hosts share one database server: give a PostgreSQL URL")
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    work = Path(tempfile.mkdtemp(prefix="helpsite-two-hosts-"))
    origin, editor = work / "origin.git", work / "editor"
    shutil.copytree(PROJECT_DIR / "content", editor / "content")
    git("init", "--quiet", "-b", "main", cwd=editor)
    git("add", "content", cwd=editor)
    git("commit", "--quiet", "-m", "The content as shipped", cwd=editor)
    git("clone", "--quiet", "--bare", str(editor), str(origin), cwd=work)
    git("remote", "add", "origin", str(origin), cwd=editor)
    sink = Sink()
    hosts = [Host(name, work / name, args.database, sink.port, args.redis, origin) for name in ("A", "B")]
    report: dict = {}
    try:
        print(f"==> two hosts on {args.database.rsplit('/', 1)[-1]} and {args.redis} (scratch: {work})", flush=True)
        hosts[0].prepare(args.clients)  # empties the database, migrates, builds A's index, creates the customers
        hosts[1].flask("search", "build")
        for host in hosts:
            host.start()  # with its own outbox service (`flask mail run`), as deployed: two senders, one outbox
        print(f"==> {args.tickets} tickets from {args.clients} clients, round-robin over {hosts[0].url} and "
              f"{hosts[1].url}", flush=True)
        report["tickets"] = tickets_phase(hosts, sink, args)
        print("   ", report["tickets"], flush=True)
        print("==> failed logins for one account on alternating hosts", flush=True)
        report["login"] = login_limit_phase(hosts)
        print("   ", report["login"], flush=True)
        print(f"==> an editor pushes a change; each host pulls every {args.sync_interval:g} s", flush=True)
        report["content"] = content_phase(hosts, editor, args)
        print("   ", report["content"], flush=True)
    finally:
        for host in hosts:
            host.stop()
        sink.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    tickets, login, content = report["tickets"], report["login"], report["content"]
    ok = True
    print(f"tickets {tickets['stored']}/{args.tickets} (confirmed {tickets['tickets']}, distinct numbers "
          f"{tickets['distinct']}, requests per host {tickets['requests_per_host']})")
    ok &= tickets["stored"] == tickets["distinct"] == tickets["tickets"] == args.tickets
    print(f"mails {tickets['mails_sent']} sent/{tickets['mail_duplicates']} duplicates/{tickets['mails_lost']} lost")
    ok &= tickets["mails_sent"] == args.tickets and tickets["mail_duplicates"] == 0 and tickets["mails_lost"] == 0
    ok &= tickets["tickets_mailed_twice"] == 0
    shared = login["accepted_before_limit"] == 10 and login["refused_afterwards_on_both"]
    print(f"login limits {'shared' if shared else 'NOT shared'}: {login['accepted_before_limit']} failed logins "
          f"accepted before 429 ({login['accepted_per_host']}), limit {ACCOUNT_LIMIT} per account")
    ok &= shared
    print(f"content converged in {content['converged_seconds']} s after the push (pull every "
          f"{args.sync_interval:g} s; pulled after {content['pulled_after']} s; pull to visible "
          f"{content['apply_seconds']} s); same version before {content['versions_before_equal']}, "
          f"after {content['versions_after_equal']}")
    ok &= content["converged_seconds"] is not None and content["versions_after_equal"]
    print("ticket numbers unique" if tickets["distinct"] == tickets["tickets"] else "DUPLICATE TICKET NUMBERS")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
