"""Triage: decide what happens to a customer's question, using the rules in content/triage.yaml.

The outcomes follow the SLA: email and FTP program setup is answered by the guides
(``client_setup``), the customer's own scripts get documentation links (``script``), EPP codes,
tokens and ending a service are done in Mijn Web://Xtra (``self_service``), and everything else
becomes a ``ticket``, technical or administrative.

A small package:
    text.py    the words of a question and the terms of the rules (fold and edit distance
               come from helpsite.text, shared with search)
    rules.py   triage.yaml: its schema, validated with the place of every mistake; every
               number (thresholds, the one level of weights) lives in the file
    decide.py  the decision as an ordered table of steps (STEPS), each with its reasons
    several.py several questions in one text: the advice to split them (one question per ticket)
What a question is about (programs, problems, technologies, server signals) is read by
helpsite.understanding, which search uses too.
"""

from .decide import MAX_ARTICLES, STEPS, VERDICTS, Decision, classify, default_doc_links, guides, script_links
from .several import question_parts, several_questions, split_advice
from .rules import RULES_FILE, TICKET_KINDS, Rules, RulesError, check_rules, load_rules
from .text import Term, TermList, tokenize

__all__ = ["MAX_ARTICLES", "RULES_FILE", "STEPS", "TICKET_KINDS", "VERDICTS", "Decision", "Rules", "RulesError",
           "Term", "TermList", "check_rules", "classify", "default_doc_links", "guides", "load_rules",
           "question_parts", "script_links", "several_questions", "split_advice", "tokenize"]
