"""Display width of text in terminal cells, and cutting text to a given width.

Widths come from wcwidth and are counted per grapheme cluster: CJK characters and
most emoji take two cells, combining marks and joiners none. The text must already
be printable (see `output.printable`), because control characters and escape
sequences have no fixed width.
"""

import wcwidth

# NOTE: "…" is East Asian Ambiguous. wcwidth counts it as one cell, as most terminals
# draw it, but a terminal set to draw ambiguous characters wide shifts the line by one.
ELLIPSIS = "…"


def display_width(text: str) -> int:
    """Return the number of terminal cells `text` takes."""
    return int(wcwidth.width(text))


def cut(text: str, width: int) -> str:
    """Return the longest start of `text` that fits in `width` cells.

    A cut text ends in an ellipsis. Cuts fall only between grapheme clusters, so a
    wide character, an emoji sequence or a letter with its accents is never split.
    The result can be one cell narrower than `width` when a wide character did not
    fit.
    """
    if display_width(text) <= width:
        return text
    room = width - display_width(ELLIPSIS)
    if room < 0:
        return ""

    kept_graphemes = []
    used = 0
    for grapheme in wcwidth.iter_graphemes(text):
        size = display_width(grapheme)
        if used + size > room:
            break
        kept_graphemes.append(grapheme)
        used += size
    return "".join(kept_graphemes) + ELLIPSIS


def fit(text: str, width: int) -> str:
    """Return `text` cut to `width` cells and padded with spaces to exactly `width`."""
    fitted = cut(text, width)
    return fitted + " " * (width - display_width(fitted))


def first_fitting(candidates: list[str], width: int) -> str:
    """Return the first candidate that fits in `width` cells, else the last one cut."""
    for candidate in candidates:
        if display_width(candidate) <= width:
            return candidate
    return cut(candidates[-1], width)
