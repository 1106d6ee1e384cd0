"""A hostile tester's webhook URLs: malformed ones are a 400 naming /url (not a 500), and no
address that leads inside the network passes the SSRF filter, however it is wrapped."""

import ipaddress

import pytest

from chalicelib.infra import config
from chalicelib.infra.errors import ValidationError
from chalicelib.services import webhooks

SEGMENT = {
    "name": "hooked",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
}
MALFORMED = [
    "https://[::1",
    "https://hooks.example.com:99999/x",
    "https://hooks.example.com:abc/x",
    "https://hooks.example.com:0/x",
    "https://[not-an-address]/x",
    "https://hooks.example.com/a b",
    "https://hooks.example.com/\x00",
]
# each leads to an address inside the network, to a group, or to nowhere
INSIDE = [
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b:1::a00:1",
    "2002:a9fe:a9fe::",
    "2002:7f00:1::",
    "::127.0.0.1",
    "::a9fe:a9fe",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "ff0e::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "255.255.255.255",
    "100.64.0.1",
    "fe80::1",
    "127.0.0.1",
    "::1",
    "10.1.2.3",
]
NEVER = [
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "64:ff9b::e000:1",
    "2002:e000:1::",
]  # refused even where private addresses are allowed (local runs)
PUBLIC = [
    "93.184.215.14",
    "2606:4700::1111",
    "::ffff:93.184.215.14",
    "64:ff9b::5db8:d70e",
    "2002:5db8:d70e::",
]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_malformed_url_is_a_validation_error_of_url(url, allow_private):
    """GIVEN a URL whose host or port cannot be read WHEN it is checked THEN a ValidationError
    of /url (it was a ValueError, a 500)."""
    resolve = lambda host, port: [(None, None, None, None, ("93.184.215.14", port))]  # noqa: E731
    with pytest.raises(ValidationError) as error:
        webhooks.check_url(url, allow_private, resolve=resolve)
    assert error.value.path == "/url"


@pytest.mark.parametrize("url", MALFORMED[:3])
def test_a_malformed_destination_url_is_a_400_naming_the_field(api, url):
    """GIVEN a segment WHEN a destination with a malformed URL is added THEN 400 at /url, and
    the segment keeps no destination."""
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, body = api.post(f"/segments/{sid}/destinations", {"url": url})
    assert (status, body["error"]["path"]) == (400, "/url"), body
    assert api.get(f"/segments/{sid}/destinations")[1]["destinations"] == []


@pytest.mark.parametrize("address", INSIDE)
def test_the_filter_refuses_addresses_that_lead_inside(address):
    """GIVEN an address that is, or wraps, a non-public IPv4/IPv6 address WHEN the filter
    judges it for a deployment THEN it is refused."""
    assert not webhooks.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", NEVER)
def test_multicast_unspecified_and_reserved_are_refused_even_locally(address):
    assert not webhooks.address_allowed(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass_the_filter(address):
    """GIVEN a public address (also wrapped in IPv6) THEN the filter admits it: it can fail."""
    assert webhooks.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", INSIDE)
def test_a_host_resolving_inside_is_refused_with_the_flag_off(address, monkeypatch):
    """GIVEN ALLOW_PRIVATE_WEBHOOKS off (as deployed) and a name that resolves to the address
    WHEN check_url judges it THEN it is refused at /url."""
    monkeypatch.delenv("ALLOW_PRIVATE_WEBHOOKS")
    config.reset()
    try:
        assert not config.settings().allow_private_webhooks
        resolve = lambda host, port: [(None, None, None, None, (address, port))]  # noqa: E731
        with pytest.raises(ValidationError) as error:
            webhooks.check_url(
                "https://hooks.example.com/x",
                config.settings().allow_private_webhooks,
                resolve=resolve,
            )
        assert error.value.path == "/url"
        bracketed = f"[{address}]" if ":" in address else address
        with pytest.raises(ValidationError):
            webhooks.check_url(
                f"https://{bracketed}/x",
                False,
                resolve=lambda h, p: [(None, None, None, None, (h, p))],
            )
    finally:
        monkeypatch.undo()
        config.reset()


def test_a_literal_multicast_url_is_refused_through_the_api(api):
    """GIVEN the test settings (private addresses allowed) WHEN a destination points to a
    multicast group THEN 400 at /url."""
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    for url in ("http://224.0.0.1/x", "http://[ff02::1]/x", "http://[64:ff9b::e000:1]/x"):
        status, body = api.post(f"/segments/{sid}/destinations", {"url": url})
        assert (status, body["error"]["path"]) == (400, "/url"), (url, body)
