"""What a search can answer instead of results: the reader's query is unusable, or the index is."""


class QueryError(ValueError):
    """A query that cannot be searched for; the message ("empty", "too_long", "no_words") names why."""


class SearchUnavailable(FileNotFoundError):
    """The index is missing or broken; it is being rebuilt. Views answer 503 or show a notice.

    A FileNotFoundError, so that every caller that handled a missing index handles this too.
    """
