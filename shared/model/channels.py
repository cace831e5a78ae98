"""Notification channels: where a system's health changes are sent, and the guard on their URLs.

A channel is stored as JSON in `lso:{reg}:channels` with its signing secret; the API never shows
the secret again after creating it.
"""

import enum
import ipaddress
import socket
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from shared.model.verdict import Verdict

DEFAULT_NOTIFY_ON = [Verdict.DEGRADED, Verdict.UNHEALTHY]
MAX_GROUP_WINDOW_S = 3600


class ChannelKind(enum.StrEnum):
    WEBHOOK = "webhook"  # LSO's JSON body, signed
    SLACK = "slack"  # Slack incoming-webhook body (also Mattermost, Rocket.Chat, ...)
    ALERTMANAGER = "alertmanager"  # alerts posted to Alertmanager's API (/api/v2/alerts)


class Channel(BaseModel):
    channel_id: int
    system_id: int | None = Field(description="None: a global channel, for every system")
    kind: ChannelKind
    url: str
    notify_on: list[Verdict]
    name: str | None = None
    group_window_s: int | None = Field(
        None, description="None: one delivery per transition; else grouped (worker/jobs/groups.py)"
    )
    created_at: str
    secret: str = Field(repr=False)

    def cares(self, before: str, after: str) -> bool:
        """Told when the system enters or leaves one of its `notify_on` verdicts."""
        return before in self.notify_on or after in self.notify_on


class UnsafeUrl(ValueError):
    pass


# IPv6 forms that carry an IPv4 address, and where it sits: NAT64 (64:ff9b::/96, and the local-use
# 64:ff9b:1::/48), 6to4 (2002::/16, bits 16–48), IPv4-compatible (::/96), IPv4-mapped
# (::ffff:0:0/96) and SIIT-translated (::ffff:0:0:0/96). Python's `is_global` judges several of
# them by the IPv6 range alone, so `[64:ff9b::7f00:1]` (127.0.0.1 through NAT64) passed as global.
_EMBEDDING = (
    (ipaddress.ip_network("64:ff9b::/96"), 0),
    (ipaddress.ip_network("64:ff9b:1::/48"), 0),
    (ipaddress.ip_network("::ffff:0:0/96"), 0),
    (ipaddress.ip_network("::ffff:0:0:0/96"), 0),
    (ipaddress.ip_network("::/96"), 0),
    (ipaddress.ip_network("2002::/16"), 80),
)
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, still routed inside some networks


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable, and not multicast; for IPv6, the IPv4 address it embeds too."""
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL:
            return False
        for network, shift in _EMBEDDING:
            if ip in network:
                return is_public(ipaddress.IPv4Address((int(ip) >> shift) & 0xFFFFFFFF))
    return True


def check_url(url: str, allow_private: bool) -> list[str]:
    """The addresses `url`'s host resolves to; raises UnsafeUrl for a URL LSO must not call.

    Only http(s). Unless `allow_private`, every address must be globally routable: no loopback,
    private, link-local (cloud metadata), multicast or reserved ranges, so a channel cannot be
    used to reach the inside of the network (SSRF). The sender connects to an address checked
    here, never resolving again, so a DNS answer cannot change between check and use.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise UnsafeUrl(f"cannot resolve {parts.hostname}: {exc}") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        for address in addresses:
            if not is_public(ipaddress.ip_address(address.split("%")[0])):
                raise UnsafeUrl(
                    f"{parts.hostname} resolves to {address}, a non-public address "
                    "(allowed only with LSO_ALLOW_PRIVATE_WEBHOOKS=1)"
                )
    return addresses
