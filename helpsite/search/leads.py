"""What a question itself points to, before any scoring: a named program's guide, a topic article
for that program, a known problem's article. These lead the results in this order.
"""

from __future__ import annotations

from ..understanding import GENERAL, QUESTION_WORDS


def leads(store, understood, searcher, lang, category, include_drafts) -> dict[str, int]:
    """Return {article id: document number} of what the question itself points to, in order."""
    if understood is None:
        return {}
    wanted = []
    for program in understood.programs[:2]:
        guide = guide_id(searcher, program)
        wanted.extend(topic_ids(store, understood, searcher, lang, program, guide))
        wanted.append(guide)
    wanted.extend(naming_articles(store, understood, searcher, lang))
    wanted.extend(understood.article_ids())
    leads = {}
    for article_id in wanted:
        if not article_id or article_id in leads:
            continue
        number = searcher.document_number(id=article_id)
        if number is None:
            continue
        fields = searcher.stored_fields(number)
        if category and fields.get("category") != category:
            continue
        article = store.get(lang, article_id, include_drafts=True)
        if article is not None and article.draft and not include_drafts:
            continue
        leads[article_id] = number
    return leads

def topic_ids(store, understood, searcher, lang, program: str, guide: str | None) -> list[str]:
    """Return the articles for this program whose topic the question names besides the program.

    "Outlook signature" asks about signatures, not about setting Outlook up: an article for the
    program that is tagged with the other words ("signature") comes before the program's guide.
    A tag counts only with a word outside the program's name and the guide's own title and tags
    ("e-mail instellen", imap, wachtwoord: setting the program up is the guide's topic). Only a
    few words are a topic looked up: a whole question names many words in passing, and there the
    guide leads. Of several such articles, the one whose tag covers most of the words comes first.
    """
    if guide is None or len(understood.doc.tokens) >= QUESTION_WORDS:
        return []
    analyzer = searcher.schema["tags"].analyzer

    def stems(phrase: str) -> tuple[str, ...]:
        return tuple(token.text for token in analyzer(phrase))

    asked = stems(understood.text)
    name = {stem for words in understood.evidence.words("client") for stem in stems(words)}
    guide_article = store.get(lang, guide, include_drafts=True)
    # The guide's own topic (its title and tags): setting the program up, its servers, its password.
    guide_words = set(stems(" ".join([guide_article.title, *guide_article.tags]))) if guide_article else set()
    found = []
    for number in searcher.document_numbers(applies_to=program):
        article_id = searcher.stored_fields(number)["id"]
        article = store.get(lang, article_id, include_drafts=True)
        if article is None or article_id == guide:
            continue
        covered = 0
        for tag in map(stems, article.tags):
            if not tag or set(tag) <= name | guide_words:
                continue
            if any(asked[i:i + len(tag)] == tag for i in range(len(asked) - len(tag) + 1)):
                covered = max(covered, len(tag))
        if covered:
            found.append((-covered, article_id))
    return [article_id for _covered, article_id in sorted(found)]

def guide_id(searcher, program: str) -> str | None:
    """Return the id of the program's own guide, if any.

    That is the article for exactly this program (applies_to: [program]); a program without one
    (the phone apps, whose guide also names the programs and devices it shares steps with) has
    as its guide the one article that names it, when only one does.
    """
    naming = set()
    for number in searcher.document_numbers(applies_to=program):
        fields = searcher.stored_fields(number)
        if fields.get("applies_to") == program:
            return fields["id"]
        naming.add(fields["id"])
    return naming.pop() if len(naming) == 1 else None


# Words of a program's name that do not tell one program from another ("Claws Mail", "Transmit app").
GENERIC_NAME_WORDS = "email mail e-mail app client ftp sftp connect to server"


def naming_articles(store, understood, searcher, lang) -> list[str]:
    """Return the articles for programs in general whose tags name the program asked about.

    A program without a guide of its own (KMail, Evolution) may still be covered by an article
    for several programs, tagged with its name (setting up email on Linux): that article comes
    before the general settings. A tag counts when all its words are in the program's name and
    one of them is more than a generic word ("mail", "app").
    """
    if not understood.unguided:
        return []
    analyzer = searcher.schema["tags"].analyzer

    def stems(phrase: str) -> set[str]:
        return {token.text for token in analyzer(phrase)}

    generic = stems(GENERIC_NAME_WORDS)
    name = set().union(*(stems(words) for words in understood.unguided))
    found = []
    for number in searcher.document_numbers(applies_to=GENERAL):
        article_id = searcher.stored_fields(number)["id"]
        article = store.get(lang, article_id, include_drafts=True)
        if article is None:
            continue
        if any(tag and tag <= name and tag - generic for tag in map(stems, article.tags)):
            found.append(article_id)
    return found
