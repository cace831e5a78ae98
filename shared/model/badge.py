"""A system's health badge: a shields.io-style "flat" SVG, the system's name on the left and its
verdict on the right, in the verdict's colour. Pure: text in, SVG text out.

The widths follow the text: each segment is its text's width in 11-px Verdana (what shields
measures with, estimated here per character) plus 5 px of padding a side, so any name fits
without a font on the server. The name is user text: it is stripped of control characters,
bounded, and escaped for XML in both the text and the attributes it appears in.
"""

from dataclasses import dataclass
from xml.sax.saxutils import escape

from shared.model.text import quoted
from shared.model.verdict import Verdict

MAX_LABEL_CHARS = 48
PADDING_PX = 5
HEIGHT_PX = 20
LABEL_COLOUR = "#555"
# shields' named colours: brightgreen, yellow, red, lightgrey.
COLOURS = {
    Verdict.OK: "#4c1",
    Verdict.DEGRADED: "#dfb317",
    Verdict.UNHEALTHY: "#e05d44",
    Verdict.NO_DATA: "#9f9f9f",
}
WORDS = {Verdict.OK: "OK", Verdict.DEGRADED: "DEGRADED", Verdict.UNHEALTHY: "UNHEALTHY",
         Verdict.NO_DATA: "NO DATA"}  # fmt: skip

# Advance widths of 11-px Verdana in px (rounded to 0.1); anything else counts as WIDE_PX.
_WIDTHS: dict[str, float] = {
    **dict.fromkeys("abdegh", 6.8), **dict.fromkeys("nopqu", 6.9), "c": 5.7, "f": 3.9,
    "i": 3.0, "j": 3.8, "k": 6.5, "l": 3.0, "m": 10.7, "r": 4.7, "s": 5.7, "t": 4.3,
    **dict.fromkeys("vxy", 6.5), "w": 8.9, "z": 5.7,
    **dict.fromkeys("ABEKRSVXZ", 7.5), "C": 7.7, "D": 8.4, "F": 6.3, "G": 8.5, "H": 8.3,
    **dict.fromkeys("IJ", 5.1), "L": 6.1, "M": 9.3, "N": 8.2, **dict.fromkeys("OQ", 8.7),
    "P": 6.6, **dict.fromkeys("TY", 6.8), "U": 8.1, "W": 10.9,
    **dict.fromkeys("0123456789", 7.0), " ": 3.5, ".": 3.5, ",": 3.5, ":": 4.6, "-": 4.6,
    "_": 7.0, "/": 4.9, "@": 11.0, "+": 9.2, "~": 9.2, "&": 8.0, "<": 9.2, ">": 9.2,
    "'": 2.7, '"': 4.6, "…": 11.0,
}  # fmt: skip
WIDE_PX = 8.0
_ATTRIBUTE = {'"': "&quot;", "'": "&apos;"}


@dataclass(frozen=True)
class Badge:
    svg: str
    width_px: int


def text_width_px(text: str) -> float:
    """The estimated width of `text` in 11-px Verdana."""
    return sum(_WIDTHS.get(ch, WIDE_PX) for ch in text)


def render(name: str, verdict: Verdict) -> Badge:
    """The badge of the system `name` holding `verdict`."""
    label = quoted(name, MAX_LABEL_CHARS)
    message = WORDS[verdict]
    label_w = round(text_width_px(label)) + 2 * PADDING_PX
    message_w = round(text_width_px(message)) + 2 * PADDING_PX
    width = label_w + message_w
    title = escape(f"{label}: {message}")
    label_text, label_attr = escape(label), escape(label, _ATTRIBUTE)
    # Text is drawn at 10x and scaled by .1, as shields does, for sub-pixel positions.
    return Badge(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT_PX}" '
        f'role="img" aria-label="{label_attr}: {message}"><title>{title}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="{HEIGHT_PX}" rx="3" fill="#fff"/>'
        '</clipPath><g clip-path="url(#r)">'
        f'<rect width="{label_w}" height="{HEIGHT_PX}" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{label_w}" width="{message_w}" height="{HEIGHT_PX}" '
        f'fill="{COLOURS[verdict]}"/>'
        f'<rect width="{width}" height="{HEIGHT_PX}" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f"{_text(label_text, label_w / 2, label_w - 2 * PADDING_PX)}"
        f"{_text(message, label_w + message_w / 2, message_w - 2 * PADDING_PX)}"
        "</g></svg>",
        width,
    )


def _text(escaped: str, centre_px: float, length_px: int) -> str:
    """One segment's text with its shadow, centred at `centre_px`."""
    x, length = round(centre_px * 10), length_px * 10
    return (
        f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{length}">{escaped}</text>'
        f'<text x="{x}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{length}">{escaped}</text>'
    )
