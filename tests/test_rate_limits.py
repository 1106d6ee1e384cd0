"""Request limits per API key: a token bucket per key (rate, burst), 429 with Retry-After."""

from chalicelib.api.rate_limits import Limiter
from chalicelib.storage import project_table


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate():
    # GIVEN a key of 2 requests/s with bursts of 3
    clock = Clock()
    limiter = Limiter(clock)
    # THEN three at once pass and the fourth waits half a second
    assert [limiter.take("k", 2.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k", 2.0, 3) == 0.5
    # WHEN half a second passes THEN one more passes, and another key was never limited
    clock.now += 0.5
    assert limiter.take("k", 2.0, 3) == 0.0
    assert limiter.take("other", 2.0, 3) == 0.0


def test_a_key_over_its_limit_is_refused_and_another_projects_key_is_not(api, other_project):
    # GIVEN the project's key limited to bursts of 3 and almost no refill
    key = project_table.live_key(api.project["key"])
    project_table.set_key_limits(key.key_id, rate_limit=0.001, burst=3)
    other = {"id": other_project["id"], "key": other_project["key"]}
    # WHEN it sends a fourth request
    for _ in range(3):
        assert api.get("/profiles?limit=1")[0] == 200
    status, body = api.get("/profiles?limit=1")
    # THEN it is refused with 429, the error shape and a Retry-After
    assert status == 429 and body["error"]["code"] == "rate_limited"
    response = api.client.http.get(
        f"/projects/{api.project['id']}/profiles", headers={"x-api-key": api.project["key"]}
    )
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    # AND another project's key still gets its answers
    status, _ = api.call("GET", f"/projects/{other['id']}/profiles?limit=1", key=other["key"])
    assert status == 200


def test_limits_default_and_are_shown_on_the_key(project):
    key = project_table.live_key(project["key"])
    assert (key.rate_limit, key.burst) == (
        project_table.DEFAULT_RATE_LIMIT,
        project_table.DEFAULT_BURST,
    )
    changed = project_table.set_key_limits(key.key_id, rate_limit=5, burst=10)
    assert (changed.rate_limit, changed.burst) == (5.0, 10)
    listed = {k.key_id: k for k in project_table.list_keys(project["id"])}
    assert (listed[key.key_id].rate_limit, listed[key.key_id].burst) == (5.0, 10)


def test_limits_out_of_range_are_refused(project):
    import pytest

    from chalicelib.infra.errors import ValidationError

    key = project_table.live_key(project["key"])
    for rate, burst in ((0, None), (-1, None), (None, 0), (None, 10**9)):
        with pytest.raises(ValidationError):
            project_table.set_key_limits(key.key_id, rate_limit=rate, burst=burst)
