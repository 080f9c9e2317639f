"""`flask content check`: passes on the shipped content, names file and line of every mistake."""

import re
import shutil

import pytest

OUTLOOK_NL = "articles/nl/e-mail-instellen-outlook.md"
PROBLEM_LINE = re.compile(r"^(?P<path>/\S+\.(?:md|yaml)):(?P<line>\d+): (?P<warning>warning: )?(?P<message>.+)$")
SUMMARY = re.compile(r"^(?P<count>\d+) articles checked: (?P<errors>\d+) error\(s\), (?P<warnings>\d+) warning\(s\)\.$")


def check(make_app, content, tmp_path, *options):
    """Run flask content check on a content folder; return the result."""
    app = make_app(CONTENT_DIR=str(content), SEARCH_INDEX_DIR=str(tmp_path / "idx"), SEARCH_BUILD_ON_START=False)
    return app.test_cli_runner().invoke(args=["content", "check", *options])


def problems(result) -> list[dict]:
    """Return the reported problems; fail on any output line that is neither a problem nor the summary."""
    found = []
    lines = result.output.splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    for line in lines[:-1]:
        match = PROBLEM_LINE.match(line)
        assert match, f"not in file:line: message form: {line!r}"
        found.append({**match.groupdict(), "line": int(match["line"])})
    return found


def append_to_body(path, text) -> int:
    """Append a line to an article and return its line number."""
    content = path.read_text(encoding="utf-8")
    if not content.endswith("\n"):
        content += "\n"
    path.write_text(content + text + "\n", encoding="utf-8")
    return content.count("\n") + 1


def front_matter_end(path) -> int:
    """Return the line number of the '---' that closes the front matter."""
    return path.read_text(encoding="utf-8").split("\n").index("---", 1) + 1


def test_the_shipped_content_passes(runner, app):
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    count = sum(len(app.extensions["articles"].in_language(lang, include_drafts=True)) for lang in ("nl", "en"))
    assert result.output.strip() == f"{count} articles checked: 0 error(s), 0 warning(s)."
    assert count >= 60


def test_the_shipped_content_passes_strictly_too(runner):
    result = runner.invoke(args=["content", "check", "--strict"])
    assert result.exit_code == 0, result.output


# Each breakage: (name, change(content_dir) -> (file, line or None for "in the front matter"), message part).


def bad_yaml(content):
    path = content / OUTLOOK_NL
    lines = path.read_text().split("\n")
    lines.insert(3, "  verkeerd: ingesprongen")  # becomes line 4, under the title
    path.write_text("\n".join(lines))
    return path, 4, "front matter is not valid YAML"


def missing_field(content):
    path = content / OUTLOOK_NL
    path.write_text(re.sub(r"^summary:.*\n", "", path.read_text(), count=1, flags=re.M))
    return path, None, "missing front matter field(s): summary"


def bad_date(content):
    path = content / OUTLOOK_NL
    path.write_text(re.sub(r"^updated: .*$", "updated: gisteren", path.read_text(), count=1, flags=re.M))
    return path, 8, "updated must be a date"


def unknown_category(content):
    path = content / OUTLOOK_NL
    path.write_text(path.read_text().replace("category: email", "category: e-mailprogrammas", 1))
    return path, None, "unknown category 'e-mailprogrammas'"


def unknown_client(content):
    path = content / OUTLOOK_NL
    path.write_text(path.read_text().replace("applies_to: [outlook]", "applies_to: [outlook, lotus_notes]", 1))
    return path, None, "unknown applies_to id 'lotus_notes'"


def duplicate_id(content):
    copy = content / "articles" / "nl" / "outlook-kopie.md"
    shutil.copy(content / OUTLOOK_NL, copy)
    return copy, None, "duplicate id 'email-outlook' (also in e-mail-instellen-outlook.md)"


def alias_taken(content):
    path = content / OUTLOOK_NL
    path.write_text(path.read_text().replace("---\n", "---\naliases: [e-mail-instellen-thunderbird]\n", 1))
    return path, None, "slug or alias 'e-mail-instellen-thunderbird' is also used by"


def alias_twice(content):
    for slug in ("e-mail-instellen-outlook", "e-mail-instellen-thunderbird"):
        path = content / "articles" / "nl" / f"{slug}.md"
        path.write_text(path.read_text().replace("---\n", "---\naliases: [mail-instellen]\n", 1))
    return content / "articles" / "nl" / "e-mail-instellen-thunderbird.md", None, \
        "slug or alias 'mail-instellen' is also used by e-mail-instellen-outlook.md"


def missing_article_link(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Lees ook [dit artikel](a:bestaat-niet#settings)."), \
        "link to unknown article a:bestaat-niet"


def missing_permalink(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Of [de permalink](/a/bestaat-ook-niet)."), \
        "link to unknown article /a/bestaat-ook-niet"


def image_without_alt(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "![](/static/img/outlook-account.png)"), \
        "image '/static/img/outlook-account.png' has no alt text"


def image_with_blank_alt(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Kijk: ![   ](/static/img/x.png) hier."), "has no alt text"


def unknown_placeholder(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Server: {{ imap_server }}"), "unknown placeholder {{imap_server}}"


def raw_html(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, 'Klik <a href="#" onclick="x()">hier</a>.'), "raw HTML is not allowed"


def not_utf8(content):
    path = content / OUTLOOK_NL
    text = path.read_text()
    path.write_bytes(text.replace("Deze handleiding", "Déze handleiding", 1).encode("latin-1", "replace"))
    line = text.split("\n").index(next(l for l in text.split("\n") if "Deze handleiding" in l)) + 1
    return path, line, "not valid UTF-8"


def collapsed_list(content):
    # A list in a quote is not re-indented: it still runs into the quoted line above it.
    path = content / OUTLOOK_NL
    append_to_body(path, "> Vul in:")
    return path, append_to_body(path, "> - **Server:** mail.voorbeeld.nl"), "is shown as part of the text above it"


BREAKAGES = [collapsed_list, bad_yaml, missing_field, bad_date, unknown_category, unknown_client, duplicate_id, alias_taken,
             alias_twice, missing_article_link, missing_permalink, image_without_alt, image_with_blank_alt,
             unknown_placeholder, raw_html, not_utf8]


# -- the content checks (issue 15): next step, terminology, typed facts and holidays, verified --

OUTLOOK_EN = "articles/en/set-up-email-outlook.md"


def line_of(path, text) -> int:
    """Return the number of the first line of a file that contains text."""
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if text in line)


def no_next_step(content):
    path = content / OUTLOOK_NL
    line = line_of(path, "{#next-step}")
    path.write_text(path.read_text().replace("{#next-step}", "{#tot-slot}"))
    return path, line, "the last ## section must be the next step"


def see_also_after_next_step(content):
    path = content / OUTLOOK_NL
    line = append_to_body(path, "## Zie ook {#related}")
    append_to_body(path, "\n- [Webmail](a:email-webmail)")
    return path, line, "the last ## section must be the next step"


def next_step_without_ask_link(content):
    path = content / OUTLOOK_NL
    line = line_of(path, "{#next-step}")
    path.write_text(path.read_text().replace("](ask:)", "](a:support-tickets)"))
    return path, line, "the next-step section has no link to the question form"


def forbidden_word(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Zet de verificatie van de uitgaande server aan."), \
        "write 'authenticatie', not 'verificatie'"


def forbidden_word_in_summary(content):
    path = content / OUTLOOK_NL
    path.write_text(re.sub(r"^summary: \"", 'summary: "Verificatie en ', path.read_text(), count=1, flags=re.M))
    return path, None, "summary: write 'authenticatie', not 'verificatie'"


def forbidden_client_name(content):
    path = content / OUTLOOK_EN
    return path, append_to_body(path, "On a Samsung phone, use Samsung E-mail or the Gmail app."), \
        "write 'Samsung Email', not 'Samsung E-mail'"


def wrong_capitals_of_a_client(content):
    path = content / OUTLOOK_EN
    return path, append_to_body(path, "For FTP, use Filezilla."), "write 'FileZilla', not 'Filezilla'"


def related_articles_heading(content):
    path = content / OUTLOOK_EN
    line = line_of(path, "{#related}")
    path.write_text(path.read_text().replace("## See also {#related}", "## Related articles {#related}"))
    return path, line, "call this heading 'See also'"


def typed_holiday_date(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Op 25 december zijn wij gesloten."), "a holiday date typed in the text ('25 december')"


def typed_holiday_date_with_year(content):
    path = content / OUTLOOK_EN
    # Good Friday 2027: not a fixed date, found through the support calendar's holidays.
    return path, append_to_body(path, "We are closed on 2027-03-26."), "a holiday date typed in the text ('2027-03-26')"


def typed_holiday_list(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Wij zijn dicht op Koningsdag en Tweede Pinksterdag."), "a list of holidays typed"


def typed_holiday_table(content):
    path = content / OUTLOOK_EN
    line = append_to_body(path, "| Holiday | When |\n| --- | --- |\n| Good Friday | varies |")
    append_to_body(path, "| Christmas Day | yes |")
    return path, line + 2, "a list of holidays typed"


def typed_port(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Gebruik poort 993 voor IMAP."), "'993' is typed: write {{imap_port}}"


def typed_port_in_a_bold_label(content):
    path = content / OUTLOOK_EN
    return path, append_to_body(path, "Set **Port: 587**."), "'587' is typed: write {{smtp_port_starttls}}"


def typed_host(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Log in op webmail.webxtra.nl."), "is typed: write {{webmail_url}}"


def typed_hours(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "Wij zijn tot 17.30 uur bereikbaar."), "'17.30' is typed: write {{support_close}}"


def typed_price(content):
    path = content / OUTLOOK_EN
    return path, append_to_body(path, "Managed Hosting costs €99 a month."), "'€99' is typed: write {{managed_price}}"


def typed_quota(content):
    path = content / OUTLOOK_EN
    provider = content / "provider.yaml"
    provider.write_text(provider.read_text().replace('mailbox_quota: ""', 'mailbox_quota: "5 GB"'))
    return path, append_to_body(path, "A mailbox holds 5GB."), "'5GB' is typed: write {{mailbox_quota}}"


def typed_response_time(content):
    path = content / OUTLOOK_NL
    return path, append_to_body(path, "U krijgt binnen 3 werkdagen antwoord."), "is typed: write {{response_days_technical}}"


def typed_limit_once_it_is_set(content):
    provider = content / "provider.yaml"
    provider.write_text(provider.read_text().replace('sending_limit: ""', 'sending_limit: "250"'))
    path = content / OUTLOOK_EN
    return path, append_to_body(path, "You can send 250 messages an hour."), "'250' is typed: write {{sending_limit}}"


def client_guide_without_verified(content):
    path = content / OUTLOOK_NL
    path.write_text(re.sub(r"^verified:.*\n", "", path.read_text(), count=1, flags=re.M))
    return path, None, "a client guide (outlook) needs a 'verified' line"


def broken_terminology_file(content):
    path = content / "terminology.yaml"
    path.write_text("nl:\n  verificatie: authenticatie\n fout: [\n")
    return path, None, "not valid YAML"


BREAKAGES += [no_next_step, see_also_after_next_step, next_step_without_ask_link, forbidden_word,
              forbidden_word_in_summary, forbidden_client_name, wrong_capitals_of_a_client, related_articles_heading,
              typed_holiday_date, typed_holiday_date_with_year, typed_holiday_list, typed_holiday_table, typed_port,
              typed_port_in_a_bold_label, typed_host, typed_hours, typed_price, typed_quota, typed_response_time,
              typed_limit_once_it_is_set, client_guide_without_verified, broken_terminology_file]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.__name__ for b in BREAKAGES])
def test_a_broken_file_is_reported_with_file_and_line_and_fails(make_app, content_copy, tmp_path, breakage):
    path, line, message = breakage(content_copy)
    result = check(make_app, content_copy, tmp_path)
    assert result.exit_code == 1, result.output
    found = [p for p in problems(result) if message in p["message"]]
    assert found, result.output
    problem = found[0]
    assert problem["path"] == str(path)
    assert not problem["warning"]
    if line is None:
        assert 1 <= problem["line"] <= (max(front_matter_end(path), 2) if path.suffix == ".md" else 3), problem
    else:
        assert problem["line"] == line, problem
    summary = SUMMARY.match(result.output.splitlines()[-1])
    assert int(summary["errors"]) >= 1
    # the errors go to stderr, where editors' tools and CI look for them
    assert message in result.stderr


def test_every_problem_in_a_file_is_reported_not_only_the_first(make_app, content_copy, tmp_path):
    path = content_copy / OUTLOOK_NL
    lines = [append_to_body(path, "![](/a.png)"), append_to_body(path, "{{ nope }}"),
             append_to_body(path, "[x](a:weg)")]
    result = check(make_app, content_copy, tmp_path)
    reported = sorted(p["line"] for p in problems(result) if p["path"] == str(path))
    assert reported == lines


def test_problems_in_several_files_are_all_reported_in_file_order(make_app, content_copy, tmp_path):
    first = content_copy / "articles" / "en" / "ftp-setup-winscp.md"
    second = content_copy / OUTLOOK_NL
    append_to_body(second, "{{ nope }}")
    append_to_body(first, "{{ nope }}")
    result = check(make_app, content_copy, tmp_path)
    assert [p["path"] for p in problems(result)] == [str(first), str(second)]
    assert SUMMARY.match(result.output.splitlines()[-1])["errors"] == "2"


def test_a_missing_translation_is_only_a_warning(make_app, content_copy, tmp_path):
    (content_copy / "articles" / "en" / "set-up-email-outlook.md").unlink()
    result = check(make_app, content_copy, tmp_path)
    assert result.exit_code == 0, result.output
    [problem] = problems(result)
    assert problem["path"] == str(content_copy / OUTLOOK_NL)
    assert problem["warning"]
    assert "no en translation of article 'email-outlook'" in problem["message"]
    summary = SUMMARY.match(result.output.splitlines()[-1])
    assert (summary["errors"], summary["warnings"]) == ("0", "1")
    strict = check(make_app, content_copy, tmp_path, "--strict")
    assert strict.exit_code == 1


def test_the_check_does_not_stop_at_a_broken_file(make_app, content_copy, tmp_path):
    broken, _, _ = bad_yaml(content_copy)
    other = content_copy / "articles" / "en" / "ftp-setup-filezilla.md"
    line = append_to_body(other, "![](/img.png)")
    result = check(make_app, content_copy, tmp_path)
    paths = {(p["path"], p["line"]) for p in problems(result)}
    assert (str(broken), 4) in paths
    assert (str(other), line) in paths


def test_the_triage_rules_are_checked_too(make_app, content_copy, tmp_path):
    path = content_copy / "triage.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  margin: 1\n", "  margin: 1\n  marginn: 2\n"),
                    encoding="utf-8")
    result = check(make_app, content_copy, tmp_path)
    assert result.exit_code == 1
    assert "settings: unknown key 'marginn'" in result.output


ALLOWED = [
    # a client's own label quoted in bold is exempt from the terminology
    ("nl", "Vink **Mijn server voor uitgaande e-mail (SMTP) vereist verificatie** aan."),
    # a compound word is another word
    ("nl", "Tweestapsverificatie is voor uw e-mailadres niet nodig."),
    # inline code and link targets are not prose
    ("en", "The log says `Samsung E-mail` and [the FAQ](https://example.org/Filezilla) too."),
    # a heading's anchor is an id, not prose
    ("en", "### The Gmail app on Android {#gmail-app}"),
    # a date that is not a holiday, and one holiday named on its own
    ("nl", "Deze handleiding is op 20 november bijgewerkt. Op Koningsdag is het druk op de weg."),
    ("en", "On 3 March we updated this guide; the King's Day closure is in the support calendar."),
    # numbers that are not a fact: error codes, a port the SLA does not set, a version
    ("en", "Error 550 or 553 means the file is not yours; port 25 is often blocked; Outlook 2016 works too."),
    # placeholders are what the check asks for
    ("nl", "Gebruik poort {{imap_port}} en {{smtp_host}}; wij zijn open tot {{support_close}} uur."),
]


@pytest.mark.parametrize("lang, text", ALLOWED)
def test_what_is_allowed_is_not_reported(make_app, content_copy, tmp_path, lang, text):
    path = content_copy / (OUTLOOK_NL if lang == "nl" else OUTLOOK_EN)
    append_to_body(path, text)
    result = check(make_app, content_copy, tmp_path)
    assert result.exit_code == 0, result.output


def test_a_general_article_needs_no_verified_line(make_app, content_copy, tmp_path):
    path = content_copy / "articles" / "nl" / "reactietijden.md"
    assert "applies_to: [general]" in path.read_text()
    assert "verified:" not in path.read_text()
    result = check(make_app, content_copy, tmp_path)
    assert result.exit_code == 0, result.output


def test_every_shipped_article_ends_with_a_next_step_that_links_to_the_question_form(app):
    store = app.extensions["articles"]
    for lang in ("nl", "en"):
        for article in store.in_language(lang, include_drafts=True):
            headings = [line for line in article.body.split("\n") if line.startswith("## ")]
            assert headings[-1].endswith("{#next-step}"), article.path
            assert "](ask:)" in article.body.split(headings[-1], 1)[1], article.path
            assert f"vraag-stellen?article={article.id}" in article.html or f"/en/ask?article={article.id}" in article.html


def test_the_editors_preview_reports_the_content_checks_too(app):
    from helpsite.content_check import check_article_text

    store = app.extensions["articles"]
    text = ("---\nid: preview-test\ntitle: T\nsummary: S\ncategory: email\ntags: [x]\napplies_to: [thunderbird]\n"
            "updated: 2026-11-30\n---\nZet verificatie aan.\n")
    _, findings = check_article_text(text.encode(), "nl", "preview-test", store)
    messages = " | ".join(f.message for f in findings)
    assert "not 'verificatie'" in messages
    assert "the last ## section must be the next step" in messages
    assert "needs a 'verified' line" in messages
