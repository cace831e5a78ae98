"""The badge's SVG: well-formed XML whatever the name, widths that follow the text, the verdict's
colour and word."""

import xml.etree.ElementTree as ET

import pytest

from shared.model import badge
from shared.model.verdict import Verdict

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def rects(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}rect"))


@pytest.mark.parametrize("verdict", list(Verdict))
def test_each_verdict_has_its_colour_and_word(verdict: Verdict) -> None:
    root = parsed(badge.render("orders-etl", verdict).svg)
    fills = [r.get("fill") for r in rects(root)]
    assert badge.COLOURS[verdict] in fills and badge.LABEL_COLOUR in fills
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["orders-etl", "orders-etl", badge.WORDS[verdict], badge.WORDS[verdict]]
    assert root.get("aria-label") == f"orders-etl: {badge.WORDS[verdict]}"


def test_the_colours_are_shields_ones() -> None:
    assert badge.COLOURS == {Verdict.OK: "#4c1", Verdict.DEGRADED: "#dfb317",
                             Verdict.UNHEALTHY: "#e05d44", Verdict.NO_DATA: "#9f9f9f"}  # fmt: skip


def test_the_segments_are_as_wide_as_their_text_and_add_up() -> None:
    short, long = badge.render("etl", Verdict.OK), badge.render("orders-etl-nightly", Verdict.OK)
    assert long.width_px > short.width_px
    for rendered, name in ((short, "etl"), (long, "orders-etl-nightly")):
        root = parsed(rendered.svg)
        segments = (badge.LABEL_COLOUR, badge.COLOURS[Verdict.OK])
        label, message = (r for r in rects(root) if r.get("fill") in segments)
        label_w, message_w = int(label.get("width", "")), int(message.get("width", ""))
        assert label_w == round(badge.text_width_px(name)) + 2 * badge.PADDING_PX
        assert message.get("x") == str(label_w)
        assert int(root.get("width", "")) == label_w + message_w == rendered.width_px
    # The same name: the message decides (UNHEALTHY is a longer word than OK).
    assert badge.render("etl", Verdict.UNHEALTHY).width_px > short.width_px
    assert badge.text_width_px("WWW") > badge.text_width_px("iii")  # per character, not a count


def test_markup_in_the_name_stays_text() -> None:
    name = "<script>alert(\"x\")</script> & 'co'"
    rendered = badge.render(name, Verdict.UNHEALTHY).svg
    assert "<script" not in rendered and "& " not in rendered
    root = parsed(rendered)
    assert [e.tag for e in root.iter() if "script" in e.tag] == []
    assert root.findtext(f"{SVG}title") == f"{name}: UNHEALTHY"
    assert root.get("aria-label") == f"{name}: UNHEALTHY"
    assert [t.text for t in root.iter(f"{SVG}text")][:2] == [name, name]


def test_a_long_or_unruly_name_is_bounded_and_cleaned() -> None:
    rendered = badge.render("a" * 200 + "\x00\x1b", Verdict.OK)
    label = [t.text for t in parsed(rendered.svg).iter(f"{SVG}text")][0]
    assert label is not None and len(label) == badge.MAX_LABEL_CHARS and label.endswith("…")
    assert "\x00" not in rendered.svg
