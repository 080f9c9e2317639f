"""The articles written for issue 15's other gaps (Linux mail, app passwords, SFTP keys, FTP 550/553,
spam at the recipient, bounces, limits, FTP password, large files, mail not arriving, FTPS certificate).

For each, the obvious query a customer types in each language finds it FIRST through /api/search.
These are our own (query, lang, id) triples, not bench/questions' test split.
"""

import pytest

OBVIOUS_QUERIES = [
    ("nl", "e-mail instellen op linux", "email-linux"),
    ("nl", "evolution mail instellen", "email-linux"),
    ("nl", "kmail", "email-linux"),
    ("en", "set up email on linux", "email-linux"),
    ("en", "evolution email setup", "email-linux"),
    ("en", "kmail", "email-linux"),
    ("nl", "app-wachtwoord", "email-app-passwords"),
    ("nl", "app wachtwoord aanmaken voor mail", "email-app-passwords"),
    ("nl", "tweestapsverificatie e-mail", "email-app-passwords"),
    ("en", "app password", "email-app-passwords"),
    ("en", "two-factor authentication email", "email-app-passwords"),
    ("nl", "sftp met ssh-sleutel", "ftp-sftp-ssh-keys"),
    ("nl", "ssh key sftp", "ftp-sftp-ssh-keys"),
    ("en", "sftp ssh key", "ftp-sftp-ssh-keys"),
    ("en", "sftp public key authentication", "ftp-sftp-ssh-keys"),
    ("nl", "ftp foutmelding 550", "ftp-550-553-permission-denied"),
    ("nl", "550 permission denied", "ftp-550-553-permission-denied"),
    ("nl", "553 could not create file", "ftp-550-553-permission-denied"),
    ("en", "ftp error 550", "ftp-550-553-permission-denied"),
    ("en", "550 permission denied", "ftp-550-553-permission-denied"),
    ("en", "553 could not create file", "ftp-550-553-permission-denied"),
    ("nl", "mail komt in spam bij ontvanger", "email-spam-at-recipient"),
    ("nl", "spf dkim dmarc", "email-spam-at-recipient"),
    ("en", "my email goes to spam", "email-spam-at-recipient"),
    ("en", "spf dkim dmarc", "email-spam-at-recipient"),
    ("nl", "bounce bericht", "email-bounce-messages"),
    ("nl", "onbestelbaar bericht ontvangen", "email-bounce-messages"),
    ("nl", "wat betekent 5.1.1 in een bounce", "email-bounce-messages"),
    ("en", "bounce message", "email-bounce-messages"),
    ("en", "undeliverable message", "email-bounce-messages"),
    ("en", "what does 5.1.1 mean", "email-bounce-messages"),
    ("nl", "verzendlimiet", "email-sending-limits"),
    ("nl", "maximale grootte e-mail", "email-sending-limits"),
    ("en", "sending limit", "email-sending-limits"),
    ("en", "maximum message size", "email-sending-limits"),
    ("nl", "ftp wachtwoord wijzigen", "ftp-reset-password"),
    ("nl", "ftp-wachtwoord vergeten", "ftp-reset-password"),
    ("en", "reset ftp password", "ftp-reset-password"),
    ("en", "forgot ftp password", "ftp-reset-password"),
    ("nl", "groot bestand versturen", "email-large-files"),
    ("nl", "bijlage te groot", "email-large-files"),
    ("en", "send large files", "email-large-files"),
    ("en", "attachment too big", "email-large-files"),
    ("nl", "ik ontvang geen mail", "email-not-receiving"),
    ("nl", "mail komt niet aan", "email-not-receiving"),
    ("en", "not receiving email", "email-not-receiving"),
    ("en", "email not arriving", "email-not-receiving"),
    ("nl", "onbekend certificaat bij ftp", "ftp-certificate-warning"),
    ("nl", "ftps certificaat", "ftp-certificate-warning"),
    ("en", "unknown certificate ftp", "ftp-certificate-warning"),
    ("en", "ftps certificate warning", "ftp-certificate-warning"),
]


@pytest.mark.parametrize("lang, query, expected", OBVIOUS_QUERIES)
def test_the_obvious_query_finds_the_new_article_first(client, lang, query, expected):
    response = client.get("/api/search", query_string={"q": query, "lang": lang})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert results, f"no results for {query!r}"
    ranked = [r["id"] for r in results]
    assert ranked[0] == expected, f"{query!r} ({lang}) ranks {ranked[:3]}"


@pytest.mark.parametrize("expected", sorted({e for _, _, e in OBVIOUS_QUERIES}))
def test_every_new_article_exists_in_both_languages_and_ends_with_a_next_step(app, expected):
    store = app.extensions["articles"]
    for lang, heading in (("nl", "## Volgende stap {#next-step}"), ("en", "## Next step {#next-step}")):
        article = store.get(lang, expected)
        assert article is not None, f"{expected} has no {lang} version"
        headings = [line for line in article.body.splitlines() if line.startswith("## ")]
        assert headings[-1] == heading
        assert headings[-2] in ("## Zie ook {#related}", "## See also {#related}")
        assert "(ask:)" in article.body
