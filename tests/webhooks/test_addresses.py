"""Where a webhook may not go: an IPv6 address that carries a private IPv4 address inside it
(6to4, NAT64, IPv4-compatible, Teredo) reaches that IPv4 address through a relay or a
translator, so it is as private as the address it carries."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.webhook import is_public_address, url_problem
from app.webhooks.sender import RefusedAddress, resolve

NOT_PUBLIC = [
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",  # the cloud metadata service
    "100.64.0.1",
    "0.0.0.0",
    "192.0.0.8",
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::127.0.0.1",  # IPv4-compatible (deprecated, still an IPv4 address inside)
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:0a00:0001::",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 (well-known prefix) of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::a00:1",  # NAT64 (local-use prefix) of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "fe80::1",
    "fc00::1",
    "ff02::1",
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2002:0808:0808::",  # 6to4 of 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_an_address_that_carries_a_private_one_is_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_stay_public(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize("address", ["2002:7f00:1::", "64:ff9b::7f00:1", "::127.0.0.1"])
def test_such_an_address_is_refused_as_an_endpoint_and_at_delivery(address: str) -> None:
    assert url_problem(f"https://[{address}]/hook", allow_http=False) is not None
    with pytest.raises(RefusedAddress):
        asyncio.run(resolve(address, 443, allow_private=False))
