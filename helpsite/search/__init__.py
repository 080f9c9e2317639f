"""Full-text search over the articles: the only package that touches Whoosh.

One index per language, with that language's stemmer, a Dutch compound splitter, synonyms
from ``content/search.yaml``, typo tolerance and "did you mean".

- analysis: analyzers, schema, vocabulary, the words of a query
- build: building the index aside and swapping it in, updating single articles, healing
- terms: which words of a question are searched for, as which query
- query: running the query, the result cache, results and hits
- snippets: excerpts and the section that answers best
- index: SearchIndex (builder and searcher in one) and search_with_fallback()
"""

# Whoosh pickles the schema with its filters' import paths: indexes built before the split name
# helpsite.search.AccentFoldFilter and helpsite.search.CompoundSplitFilter, so they stay importable here.
from .analysis import (MAX_QUERY_LENGTH, AccentFoldFilter, CompoundSplitFilter, Vocabulary, clean_query,
                       make_analyzer, make_schema)
from .build import SCHEMA_VERSION, article_sections, document_digest, documents
from .errors import QueryError, SearchUnavailable
from .index import Answer, SearchIndex, search_with_fallback
from .query import MAX_LIMIT, Hit, Results
from .snippets import best_section, highlight_pattern, make_snippet
from .terms import MAX_QUERY_TERMS, Concept, choose_terms

__all__ = [
    "MAX_LIMIT", "MAX_QUERY_LENGTH", "MAX_QUERY_TERMS", "SCHEMA_VERSION",
    "AccentFoldFilter", "Answer", "CompoundSplitFilter", "Concept", "Hit", "QueryError", "Results", "SearchIndex", "SearchUnavailable", "Vocabulary",
    "article_sections", "best_section", "choose_terms", "clean_query", "document_digest", "documents",
    "highlight_pattern", "make_analyzer", "make_schema", "make_snippet", "search_with_fallback",
]
