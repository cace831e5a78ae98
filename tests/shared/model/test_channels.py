"""The URL guard of channels (SSRF)."""

import pytest

from shared.model.channels import UnsafeUrl, check_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[::1]/",
        "http://0.0.0.0/",
        "ftp://example.com/",
        "http:///nohost",
    ],
)
def test_private_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=False)


def test_private_addresses_pass_only_when_allowed() -> None:
    assert check_url("http://127.0.0.1:9/hook", allow_private=True) == ["127.0.0.1"]
    with pytest.raises(UnsafeUrl, match="only http"):
        check_url("file:///etc/passwd", allow_private=True)


def test_a_public_address_passes() -> None:
    assert check_url("https://93.184.215.14/hook", allow_private=False) == ["93.184.215.14"]
