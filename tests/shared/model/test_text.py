"""User-written text inside LSO's words: stripped and bounded; Slack text escaped."""

from datetime import UTC, datetime

import orjson

from shared.model.channels import ChannelKind
from shared.model.rules import Streak, _consecutive
from shared.model.text import MAX_QUOTED_CHARS, quoted, slack_escaped
from worker.jobs.bodies import Notice, render

HOSTILE = "<!channel> <https://evil.example/login|Click to re-auth>"


def test_quoted_strips_control_and_formatting_characters_and_bounds_length() -> None:
    assert quoted("lo\x00ad\u202e\u200b") == "load"
    long = quoted("x" * 500)
    assert len(long) == MAX_QUOTED_CHARS and long.endswith("…")


def test_slack_text_cannot_mention_or_link() -> None:
    escaped = slack_escaped(HOSTILE)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.startswith("&lt;!channel&gt;")
    assert slack_escaped("a & b") == "a &amp; b"


def test_a_slack_body_shows_a_hostile_stage_and_name_as_text() -> None:
    notice = Notice("d-1", 1, "<b>orders</b>", "OK", "UNHEALTHY",
                    f"3 consecutive errors in stage {HOSTILE}", datetime.now(UTC))  # fmt: skip
    body = orjson.loads(render(ChannelKind.SLACK, notice))
    text = body["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "<https://" not in text and "<b>" not in text
    assert "&lt;!channel&gt;" in text and "&lt;b&gt;orders&lt;/b&gt;" in text
    assert body["text"] == text


def test_a_reason_quotes_a_stage_stripped_and_bounded() -> None:
    class _Policy:
        consecutive_failures = 3

    class _Inputs:
        policy = _Policy()
        streaks = [Streak("stage " + "\u202e" + "y" * 300, 5)]

    result = _consecutive(_Inputs())  # type: ignore[arg-type]
    assert result is not None and result.fired
    assert "\u202e" not in result.reason
    assert len(result.reason) < 120
