"""The SSRF guard refuses every address form that reaches a non-public IPv4 host, including the
IPv6 forms that embed one (a table: the forms refused before, and the ones that passed)."""

import pytest

from shared.model.channels import UnsafeUrl, check_url

REFUSED = [
    "127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "[fe80::1]", "[::ffff:127.0.0.1]",
    # Passed before: NAT64, 6to4, IPv4-compatible, SIIT and site-local forms of inner addresses.
    "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::127.0.0.1]", "[::ffff:0:7f00:1]", "[fec0::1]",
    "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]", "[64:ff9b:1::a00:1]",
]  # fmt: skip
ALLOWED = ["93.184.215.14", "[2606:4700:4700::1111]", "[64:ff9b::808:808]", "[2002:808:808::1]"]


@pytest.mark.parametrize("host", REFUSED)
def test_non_public_forms_are_refused(host: str) -> None:
    with pytest.raises(UnsafeUrl, match="non-public"):
        check_url(f"http://{host}/hook", allow_private=False)


@pytest.mark.parametrize("host", ALLOWED)
def test_public_forms_pass(host: str) -> None:
    assert check_url(f"http://{host}/hook", allow_private=False)
