"""The markdown rendering pipeline of articles: markdown to sanitized HTML, plain text and a table of contents.

Pure functions of the text: the article store (helpsite/content.py) fills in placeholders and
links first, and keeps what these return in its render cache.
"""

from __future__ import annotations

import re
import threading

import markdown
import nh3

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
# Placeholders filled when the page is shown, not from provider.yaml: {{closed_days}} is the list
# of weekdays the support calendar is closed (kb/article.html), which changes with the date.
PAGE_PLACEHOLDERS = frozenset({"closed_days"})

# What may survive in rendered article HTML. Everything else is stripped by nh3.
ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "a", "ul", "ol", "li", "dl", "dt", "dd",
    "strong", "em", "b", "i", "code", "pre", "kbd", "blockquote", "img", "table", "thead",
    "tbody", "tr", "th", "td", "div", "span", "sup", "sub", "abbr",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "scope"},
    "td": {"align"},
    "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def derive_rendering(html: str) -> tuple[str, str, list[dict]]:
    """Return (html, plain text, table of contents) of rendered article HTML."""
    toc = [{"id": m.group(1), "title": html_text(m.group(2))}
           for m in re.finditer(r'<h2 id="([^"]+)">(.*?)</h2>', html, re.S)]
    # Placeholders filled when the page is shown ({{closed_days}}) are not words of the article.
    text = PLACEHOLDER.sub(lambda m: "" if m.group(1) in PAGE_PLACEHOLDERS else m.group(0), html_text(html))
    return html, re.sub(r"\s+", " ", text).strip(), toc


# Tags inside a line of text. They go without a trace: "Click <strong>OK</strong>." reads
# "Click OK.", not "Click OK ." in a search snippet; any other tag ends a word.
INLINE_TAG = re.compile(r"</?(?:a|abbr|b|code|em|i|kbd|span|strong|sub|sup)(?:\s[^>]*)?>", re.I)
ANY_TAG = re.compile(r"<[^>]+>")


def html_text(fragment: str) -> str:
    """Return the text of sanitized HTML as one line: what search indexes and quotes in snippets."""
    import html as htmllib

    return re.sub(r"\s+", " ", htmllib.unescape(ANY_TAG.sub(" ", INLINE_TAG.sub("", fragment)))).strip()


LIST_MARKER = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( +|$)")
FENCE = re.compile(r"^\s*(```|~~~)")


def normalise_lists(text: str) -> str:
    """Re-indent nested lists as authors write them (CommonMark) to what Python-Markdown needs.

    CommonMark nests a line under a list item when it is indented to the item's text: 2 spaces
    under "- ", 3 under "1. ". Python-Markdown only nests at 4 spaces, and a list that follows a
    line of text without a blank line stays part of that paragraph, so both collapse into one
    run-on line. The maintained mdx_truly_sane_lists extension was tried: it fixes one nesting
    width (2 or 3) and collapses the other widths, so this rewrites the lines instead.
    """
    out: list[str] = []
    stack: list[tuple[int, int]] = []  # per open list item: (marker column, text column)
    previous_blank, in_fence = True, False
    # Text of an item that began after a blank line: Python-Markdown reads it as one indented
    # block and swallows a following item into it unless a blank line separates them.
    in_item_paragraph = False
    for line in text.split("\n"):
        expanded = line.expandtabs(4)
        if FENCE.match(expanded) and not stack:
            in_fence = not in_fence
        if in_fence or (FENCE.match(expanded) and not stack):
            out.append(line)
            previous_blank = False
            continue
        if not expanded.strip():
            out.append(line)
            previous_blank = True
            continue
        indent = len(expanded) - len(expanded.lstrip(" "))
        marker = LIST_MARKER.match(expanded)
        if marker and (stack or indent < 4):
            in_list = bool(stack)
            while stack and indent < stack[-1][1]:
                stack.pop()
            if not previous_blank and out and (not in_list or in_item_paragraph):
                # A list may interrupt a paragraph in CommonMark; Python-Markdown needs a blank line.
                out.append("")
            in_item_paragraph = False
            spaces = len(marker.group(3)) if marker.group(3) else 1
            spaces = 1 if spaces > 4 else spaces  # five spaces or more: an indented code block in the item
            stack.append((indent, indent + len(marker.group(2)) + spaces))
            rest = expanded[indent + len(marker.group(2)):].lstrip(" ")
            out.append(" " * 4 * (len(stack) - 1) + marker.group(2) + " " + rest)
        elif stack and previous_blank and indent < stack[-1][1]:
            while stack and indent < stack[-1][1]:
                stack.pop()
            out.append(self_indent(expanded, stack) if stack else line)
            in_item_paragraph = bool(stack)
        elif stack and indent >= stack[-1][1]:
            out.append(self_indent(expanded, stack))
            in_item_paragraph = in_item_paragraph or previous_blank
        else:
            out.append(line)  # a lazy continuation line, or no list at all: as written
        previous_blank = False
    return "\n".join(out)


COLLAPSED_LIST = re.compile(r"<(p|li)>((?:(?!</?(?:p|li|ul|ol)>).)*?)\n[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(.{1,60})", re.S)


def collapsed_lists(html: str) -> list[str]:
    """Return the start of every list item that rendered as text of a paragraph or item above it."""
    return [re.sub(r"<[^>]+>", "", match.group(3)).split("\n")[0].strip() for match in COLLAPSED_LIST.finditer(html)]


def self_indent(line: str, stack: list[tuple[int, int]]) -> str:
    """Return a line that belongs to the innermost open item, indented 4 spaces per list level."""
    extra = line[stack[-1][1]:] if line[: stack[-1][1]].strip() == "" else line.lstrip(" ")
    return " " * 4 * len(stack) + extra


HEADING_OR_TABLE = re.compile(r"^\s*(#{1,6}\s|\||```|~~~)")
TABLE_ROW = re.compile(r"^\s*\|")


def drop_blocks_with(text: str, names: set[str]) -> str:
    """Leave out the paragraphs, list items (with their nested lines) and table rows that use one of these placeholders.

    A line of any other kind (a heading) only loses the line itself. Authors write a sentence
    with an optional fact as its own paragraph, list item or table row, so the page reads well
    without it. A table that would be left without its heading row or without any row under it
    goes as a whole: an empty table, or a separator line shown as text, says nothing.
    """
    lines = text.split("\n")
    drop = [False] * len(lines)

    def uses(line: str) -> bool:
        return any(match.group(1) in names for match in PLACEHOLDER.finditer(line))

    def paragraph_line(line: str) -> bool:
        return bool(line.strip()) and not LIST_MARKER.match(line) and not HEADING_OR_TABLE.match(line)

    for number, line in enumerate(lines):
        if drop[number] or not uses(line):
            continue
        marker = LIST_MARKER.match(line)
        if marker:
            drop[number] = True
            indent = len(marker.group(1))
            after = number + 1
            while after < len(lines) and lines[after].strip() and (
                    len(lines[after]) - len(lines[after].lstrip(" ")) > indent):
                drop[after] = True
                after += 1
        elif paragraph_line(line):
            start = number
            while start > 0 and paragraph_line(lines[start - 1]):
                start -= 1
            end = number
            while end + 1 < len(lines) and paragraph_line(lines[end + 1]):
                end += 1
            for index in range(start, end + 1):
                drop[index] = True
        else:
            drop[number] = True
    drop_emptied_tables(lines, drop)
    return "\n".join(line for line, dropped in zip(lines, drop) if not dropped)


def drop_emptied_tables(lines: list[str], drop: list[bool]) -> None:
    """Mark a whole table as dropped when its heading row, or every row under the separator, is dropped."""
    number = 0
    while number < len(lines):
        if not TABLE_ROW.match(lines[number]):
            number += 1
            continue
        end = number
        while end + 1 < len(lines) and TABLE_ROW.match(lines[end + 1]):
            end += 1
        body = range(number + 2, end + 1)  # the heading row, the separator, then the rows
        if any(drop[number:end + 1]) and (drop[number] or all(drop[row] for row in body)):
            for row in range(number, end + 1):
                drop[row] = True
        number = end + 1


_converters = threading.local()


def _converter() -> markdown.Markdown:
    """Return this thread's Markdown converter: setting one up is a tenth of rendering an article."""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = markdown.Markdown(
            extensions=["tables", "attr_list", "sane_lists", "fenced_code", "toc"],
            extension_configs={"toc": {"permalink": False}},
            output_format="html",
        )
    return converter


def render_markdown(text: str) -> str:
    """Render markdown to sanitized HTML with stable heading anchors."""
    converter = _converter()
    try:
        html = converter.convert(normalise_lists(text))
    finally:
        converter.reset()  # nothing of one article (heading ids, toc) carries over to the next
    return label_table_cells(sanitize_html(html))


TABLE = re.compile(r"<table\b.*?</table>", re.S)
ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<(td|th)\b([^>]*)>(.*?)</\1>", re.S)


def label_table_cells(html: str) -> str:
    """Give every body cell of a table its column's heading as data-label.

    On a phone a table of settings is shown as one card per row (site.css), each value under
    its heading, instead of a table so narrow that host names and ports break mid-word.
    """

    def label_table(table: re.Match) -> str:
        text = table.group(0)
        head_end = text.find("</thead>")
        if head_end == -1:
            return text
        head_row = ROW.search(text[:head_end])
        if not head_row:
            return text
        labels = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell.group(3))).strip().replace('"', "&quot;")
                  for cell in CELL.finditer(head_row.group(1))]

        def label_row(row: re.Match) -> str:
            cells = iter(labels)

            def label_cell(cell: re.Match) -> str:
                label = next(cells, "")
                if not label or "data-label" in cell.group(2):
                    return cell.group(0)
                return f'<{cell.group(1)}{cell.group(2)} data-label="{label}">{cell.group(3)}</{cell.group(1)}>'

            return CELL.sub(label_cell, row.group(0))

        return text[:head_end] + ROW.sub(label_row, text[head_end:])

    return TABLE.sub(label_table, html)


def sanitize_html(html: str) -> str:
    """Strip everything that is not on the allowlist (scripts, handlers, odd URL schemes)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _render_item(item: tuple[str, str]) -> tuple[str, str, str]:
    """Render one (key, markdown) pair for prerender(); module level so that a process pool can call it."""
    key, text = item
    html, plain, _ = derive_rendering(render_markdown(text))
    return key, html, plain
