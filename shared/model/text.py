"""User-written text inside LSO's own words: stripped of control and formatting characters and
bounded in length, so a stage or run id cannot break a reason, a log line or a notification."""

from shared.model.events import UNSAFE_CHARS

MAX_QUOTED_CHARS = 64


def quoted(user_text: str, max_chars: int = MAX_QUOTED_CHARS) -> str:
    """`user_text` safe to put in a sentence: no control or formatting characters, at most
    `max_chars` characters (cut with an ellipsis)."""
    clean = UNSAFE_CHARS.sub("", user_text)
    return clean if len(clean) <= max_chars else clean[: max_chars - 1] + "…"


def slack_escaped(text: str) -> str:
    """Text for Slack mrkdwn: `&`, `<` and `>` escaped, so that it cannot become a link, a
    mention (`<!channel>`) or markup (Slack's "Escaping text" rules)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
