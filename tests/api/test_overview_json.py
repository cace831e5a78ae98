"""The overview's JSON kept per line: the same bytes as rendering the whole answer at once, and
a line that changed is rendered anew."""

import orjson

from api.overview_json import OverviewJson, line_json
from shared.model.verdict import Verdict
from shared.services.fleet import Line


def test_the_kept_lines_make_the_answer_the_whole_rendering_would() -> None:
    lines = [
        Line(1, "a", Verdict.UNHEALTHY, 'errors "20 %" ≥ 10 %', 1_000, 2_500),
        Line(2, "<b>", Verdict.NO_DATA, "not evaluated yet", None, None),
    ]
    json = OverviewJson()
    for cursor in (None, "0.1"):
        expected = orjson.dumps({"systems": [line_json(x) for x in lines], "next_cursor": cursor})
        assert json.body(lines, cursor) == expected
        assert json.body(lines, cursor) == expected, "the same from what was kept"
    assert json.body([], None) == b'{"systems":[],"next_cursor":null}'


def test_a_line_evaluated_again_is_rendered_anew() -> None:
    json = OverviewJson()
    before = Line(7, "etl", Verdict.OK, "fine", 1_000, 2_000)
    json.body([before], None)
    after = Line(7, "etl", Verdict.OK, "fine", 1_000, 3_000)
    (line,) = orjson.loads(json.body([after], None))["systems"]
    assert line["evaluated_at"] == "1970-01-01T00:00:03.000Z"
