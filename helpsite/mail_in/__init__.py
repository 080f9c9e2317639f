"""Mail in: a received mail becomes a reply in a ticket, a new ticket, or an answer by mail.

The SLA's rules, by mail: a reply with "[#N]" in the subject continues ticket N (and moves it
to the back of the queue when we had not answered yet); a new question from a customer's
address goes through the same triage as the web form; a ticket question that names none of
the customer's domains is asked to add it. Mail we must never answer (auto-replies, bounces,
our own mail coming back) is recognised first. Whatever cannot be processed is kept in
IncomingMail for a person to look at, never dropped.

A package of small steps: parse (bytes to a ReceivedMail), guard (mail we must not answer or
trust), route (what the mail becomes) and imap (polling a mailbox).
"""

from ..extensions import articles, search_index  # noqa: F401 - tests and callers reach them here
from .guard import automatic_reason, bounced_ticket, failed_dmarc, passed_dmarc, too_many_from  # noqa: F401
from .imap import PollReport, poll_imap  # noqa: F401
from .parse import (MAX_MIME_DEPTH, MAX_TEXT_CHARS, OMITTED, ReceivedMail, collect_body, decode_bytes,  # noqa: F401
                    guess_language, header_text, html_to_text, message_body, read_mail, sender_address,
                    sender_addresses, strip_quoted, unflow)
from .route import (IngestResult, NotProcessed, answer_unknown_sender, continue_ticket, find_customer_domain,  # noqa: F401
                    ingest, keep, new_question, search_words, ticket_number_of)
