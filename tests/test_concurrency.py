"""Twenty customers creating 200 tickets at once: none lost, every number unique (SQLite and PostgreSQL)."""

import re
import threading

import pytest
from conftest import csrf_token

from helpsite import accounts
from helpsite.extensions import db
from helpsite.models import OutgoingMail, Ticket

pytestmark = pytest.mark.slow

CLIENTS = 20
TICKETS_EACH = 10


def test_parallel_clients_lose_no_tickets(make_app):
    app = make_app(ASK_RATE_LIMIT="10000/hour", LOGIN_RATE_LIMIT="10000/hour", MAIL_SUPPRESS_SEND=True)
    with app.app_context():
        for n in range(CLIENTS):
            accounts.create_user(f"klant{n}@example.nl", f"password-number-{n:03}", domains=[f"klant{n}.nl"])

    numbers: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS, timeout=120)

    def customer(n: int) -> None:
        try:
            create_tickets(n)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            start.abort()
            with lock:
                errors.append(f"client {n}: {exc!r}")

    def create_tickets(n: int) -> None:
        client = app.test_client()
        token = csrf_token(client.get("/en/login"))
        client.post("/en/login", data={"email": f"klant{n}@example.nl", "password": f"password-number-{n:03}",
                                       "csrf_token": token})
        token = csrf_token(client.get("/en/ask"))
        start.wait()
        for i in range(TICKETS_EACH):
            response = client.post("/en/ask", data={
                "domain": f"klant{n}.nl", "subject": f"Server down {n}-{i}",
                "question": f"Since this morning the server of klant{n}.nl answers with a 503 error ({i}).",
                "duplicate_choice": "new", "split_ok": "y", "csrf_token": token,
            })
            match = re.search(r"/tickets/(\d+)\?created=1", response.headers.get("Location", ""))
            with lock:
                if response.status_code == 302 and match:
                    numbers.append(int(match.group(1)))
                else:
                    errors.append(f"client {n} ticket {i}: {response.status_code}")

    threads = [threading.Thread(target=customer, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    assert len(numbers) == CLIENTS * TICKETS_EACH
    assert len(set(numbers)) == len(numbers)
    with app.app_context():
        assert db.session.query(Ticket).count() == CLIENTS * TICKETS_EACH
        assert db.session.query(OutgoingMail).count() == CLIENTS * TICKETS_EACH  # one confirmation each
