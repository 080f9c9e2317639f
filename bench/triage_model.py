"""A small learned second opinion for the triage: words and word pairs -> the four routes.

Pure Python and deterministic: the same rows give the same model, to the last digit. Two
learners over one feature set (the question's words as the triage reads them, folded and with
the rules' spellings applied, and the pairs of neighbouring words):

    nb   multinomial naive Bayes on word presence, its posteriors softened by the number of features
         (a long question would otherwise make every posterior 0 or 1)
    lr   multinomial logistic regression, L2, trained with a fixed number of passes in a fixed order

Used by bench/triage_cv.py; nothing in the app imports it.
"""

from __future__ import annotations

import math

CLASSES = ("client_setup", "script", "self_service", "ticket")
MAX_TOKENS = 300  # pasted logs and code say little more after this


def features(tokens: list[str]) -> list[str]:
    """Return the distinct features of a question's folded words: words and pairs of neighbours."""
    tokens = tokens[:MAX_TOKENS]
    found = dict.fromkeys(tokens)
    found.update(dict.fromkeys(f"{a} {b}" for a, b in zip(tokens, tokens[1:])))
    return list(found)


def softmax(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values())
    exp = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(exp.values())
    return {c: e / total for c, e in exp.items()}


class NaiveBayes:
    def __init__(self, alpha: float = 0.5, min_count: int = 1):
        self.alpha, self.min_count = alpha, min_count

    def fit(self, rows: list[tuple[list[str], str]]) -> "NaiveBayes":
        counts = {c: {} for c in CLASSES}
        docs = {c: 0 for c in CLASSES}
        seen: dict[str, int] = {}
        for feats, label in rows:
            docs[label] += 1
            for f in feats:
                counts[label][f] = counts[label].get(f, 0) + 1
                seen[f] = seen.get(f, 0) + 1
        self.vocab = {f for f, n in seen.items() if n >= self.min_count}
        total = len(rows)
        self.prior = {c: math.log((docs[c] + 1) / (total + len(CLASSES))) for c in CLASSES}
        self.loglik, self.unknown = {}, {}
        for c in CLASSES:
            size = sum(n for f, n in counts[c].items() if f in self.vocab)
            denominator = size + self.alpha * (len(self.vocab) + 1)
            self.loglik[c] = {f: math.log((n + self.alpha) / denominator)
                              for f, n in counts[c].items() if f in self.vocab}
            self.unknown[c] = math.log(self.alpha / denominator)
        return self

    def proba(self, feats: list[str]) -> dict[str, float]:
        known = [f for f in feats if f in self.vocab]
        scale = 1 / math.sqrt(len(known)) if known else 1.0
        scores = {}
        for c in CLASSES:
            table, unknown = self.loglik[c], self.unknown[c]
            scores[c] = self.prior[c] + scale * sum(table.get(f, unknown) for f in known)
        return softmax(scores)


class LogisticRegression:
    def __init__(self, l2: float = 1e-3, epochs: int = 20, rate: float = 0.5):
        self.l2, self.epochs, self.rate = l2, epochs, rate

    def fit(self, rows: list[tuple[list[str], str]]) -> "LogisticRegression":
        self.weights = {c: {} for c in CLASSES}
        self.bias = {c: 0.0 for c in CLASSES}
        step = 0
        for epoch in range(self.epochs):
            # A fixed order that differs per pass: deterministic, and not the file's order every time.
            order = sorted(range(len(rows)), key=lambda i: (i * 7919 + epoch * 104729) % len(rows))
            for i in order:
                feats, label = rows[i]
                step += 1
                rate = self.rate / (1 + 0.01 * step / len(rows))
                probs = self._proba(feats)
                value = 1 / math.sqrt(len(feats)) if feats else 0.0
                for c in CLASSES:
                    gradient = probs[c] - (1.0 if c == label else 0.0)
                    self.bias[c] -= rate * gradient
                    table = self.weights[c]
                    for f in feats:
                        w = table.get(f, 0.0)
                        table[f] = w - rate * (gradient * value + self.l2 * w)
        return self

    def _proba(self, feats: list[str]) -> dict[str, float]:
        value = 1 / math.sqrt(len(feats)) if feats else 0.0
        return softmax({c: self.bias[c] + value * sum(self.weights[c].get(f, 0.0) for f in feats) for c in CLASSES})

    def proba(self, feats: list[str]) -> dict[str, float]:
        return self._proba(feats)


LEARNERS = {"nb": NaiveBayes, "lr": LogisticRegression}
