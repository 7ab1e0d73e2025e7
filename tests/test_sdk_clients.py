"""The official SDKs from PyPI send to a real ``yunying serve`` on 127.0.0.1; insights count exactly.

Only the host URL (and the key) differ from what an app would configure for the vendor.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from live_server import Server, running_server


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "store.duckdb") as s:
        yield s


def persons_of(server: Server, *ids: str) -> set[int]:
    rows = server.sql("SELECT person_id FROM persons WHERE distinct_id IN (SELECT unnest(?))", [list(ids)])
    return {r[0] for r in rows}


def profile(server: Server, distinct_id: str) -> tuple[bool, str] | None:
    rows = server.sql(
        "SELECT f.is_identified, f.properties FROM persons p JOIN person_profiles f "
        "USING (project_id, person_id) WHERE p.distinct_id = ?", [distinct_id])
    return rows[0] if rows else None


def stats(server: Server) -> dict:
    response = httpx.get(f"{server.url}/api/v1/ingest/stats",
                         headers={"Authorization": f"Bearer {server.api_key}"})
    assert response.status_code == 200
    return response.json()["since_start"]


def test_posthog(server):
    from posthog import Posthog

    errors: list = []
    client = Posthog(server.ingest_key, host=server.url, on_error=lambda e, b: errors.append(e),
                     flush_at=50, flush_interval=0.2)
    for k in range(10):
        for _ in range(3):
            client.capture("view", distinct_id=f"anon-{k}", properties={"k": k})
        for _ in range(2):
            client.capture("view", distinct_id=f"user-{k}")
    for k in range(10, 50):
        client.capture("view", distinct_id=f"user-{k}", properties={"channel": "抖音"})
    client.capture("pay", distinct_id="user-1", uuid="3a0d2c8e-27c6-4a4e-9b0e-6f0d8c1f5a11")
    client.capture("pay", distinct_id="user-1", uuid="3a0d2c8e-27c6-4a4e-9b0e-6f0d8c1f5a11")  # a retry
    client.flush()
    for k in range(10):
        client.alias(previous_id=f"user-{k}", distinct_id=f"anon-{k}")
    client.set(distinct_id="user-1", properties={"plan": "pro"})
    client.set_once(distinct_id="user-1", properties={"plan": "free", "first": "2026-11"})
    client.flush()
    client.shutdown()
    assert errors == []
    assert server.total("view") == 30 + 20 + 40
    assert server.total("view", "unique_users") == 50  # anon-k and user-k are one person
    assert server.total("pay") == 1
    assert len(persons_of(server, "anon-3", "user-3")) == 1
    assert profile(server, "anon-1") == (True, '{"plan":"pro","first":"2026-11"}')
    assert server.total("view", "unique_users") == len(
        {r[0] for r in server.sql("SELECT person_id FROM events WHERE event = 'view'")})
    assert server.sql("SELECT mat_channel FROM events WHERE distinct_id = 'user-10'") == [("抖音",)]
    assert stats(server)["duplicates"] == 1


def test_segment(server):
    from segment.analytics import Client

    errors: list = []
    client = Client(server.ingest_key, host=server.url, on_error=lambda e, b: errors.append(e),
                    upload_interval=0.1)
    client.track(anonymous_id="anon-1", event="view", properties={"sku": "A1"})
    client.track(anonymous_id="anon-1", event="view")
    client.flush()
    client.identify(user_id="alice", anonymous_id="anon-1", traits={"plan": "pro", "城市": "上海"})
    client.flush()
    client.track(user_id="alice", event="view")
    client.track(user_id="alice", event="pay", message_id="m-1", properties={"amount": 12.5})
    client.track(user_id="alice", event="pay", message_id="m-1", properties={"amount": 12.5})  # retry
    client.page(user_id="alice", name="Home", properties={"url": "https://shop.example/"})
    client.screen(user_id="alice", name="Cart")
    client.flush()
    client.identify(user_id="bob", anonymous_id="anon-1")  # same device, another account
    client.alias(previous_id="anon-2", user_id="carol")
    client.flush()
    client.shutdown() if hasattr(client, "shutdown") else client.join()
    assert errors == []
    assert server.total("view") == 3
    assert server.total("view", "unique_users") == 1
    assert server.total("pay") == 1
    assert server.total("$pageview") == 1 and server.total("$screen") == 1
    assert persons_of(server, "anon-1") == persons_of(server, "alice")
    assert persons_of(server, "bob").isdisjoint(persons_of(server, "alice"))  # never merged silently
    assert persons_of(server, "anon-2") == persons_of(server, "carol")
    assert profile(server, "alice") == (True, '{"plan":"pro","城市":"上海"}')
    counted = stats(server)
    assert counted["links_refused"] == 1 and counted["duplicates"] == 1


def test_mixpanel(server):
    from mixpanel import BufferedConsumer, Consumer, Mixpanel

    urls = {"events_url": f"{server.url}/track", "people_url": f"{server.url}/engage",
            "import_url": f"{server.url}/import", "groups_url": f"{server.url}/groups"}
    mp = Mixpanel(server.ingest_key, consumer=Consumer(**urls))
    mp.track("d1", "view", {"$insert_id": "ins-1", "plan": "free"})
    mp.track("d1", "view", {"$insert_id": "ins-1", "plan": "free"})  # retry of the same event
    mp.track("d2", "view")
    mp.people_set("d1", {"name": "张三"})
    mp.people_increment("d1", {"visits": 2}) if hasattr(mp, "people_increment") else None
    buffered = Mixpanel(server.ingest_key, consumer=BufferedConsumer(max_size=50, **urls))
    for i in range(120):
        buffered.track(f"b{i % 7}", "click", {"i": i})
    buffered._consumer.flush()
    yesterday = int(time.time()) - 86_400
    mp.import_data(server.ingest_key, "d3", "signup", yesterday, api_secret=server.api_key)
    mp.merge(server.ingest_key, "d1", "d2", api_secret=server.api_key)
    assert server.total("view") == 2
    assert server.total("view", "unique_users") == 1  # d1 and d2 merged explicitly
    assert server.total("click") == 120 and server.total("click", "unique_users") == 7
    day = dt.datetime.fromtimestamp(yesterday, dt.UTC).strftime("%Y-%m-%d")
    assert server.total("signup", day=day) == 1
    assert profile(server, "d1")[1].startswith('{"name":"张三"')


def test_mixpanel_import_needs_the_secret_key(server):
    from mixpanel import Consumer, Mixpanel, MixpanelException

    mp = Mixpanel(server.ingest_key, consumer=Consumer(import_url=f"{server.url}/import"))
    with pytest.raises(MixpanelException):
        mp.import_data(server.ingest_key, "d3", "signup", int(time.time()), api_secret=server.ingest_key)
    assert server.total("signup") == 0


def test_sensors(server):
    import sensorsanalytics

    url = f"{server.url}/sa?project={server.project}&token={server.ingest_key}"
    sa = sensorsanalytics.SensorsAnalytics(sensorsanalytics.DefaultConsumer(url), project_name=server.project)
    sa.track("cookie-1", "view", {"$os": "iOS"})
    sa.track("cookie-1", "view")
    sa.track_signup("user-9", "cookie-1", {"channel": "小红书"})
    sa.track("user-9", "pay", {"amount": 99}, is_login_id=True)
    sa.profile_set("user-9", {"city": "杭州"}, is_login_id=True)
    sa.profile_increment("user-9", {"orders": 1}, is_login_id=True)
    batch = sensorsanalytics.SensorsAnalytics(sensorsanalytics.BatchConsumer(url, max_size=20),
                                              project_name=server.project)
    for i in range(45):
        batch.track(f"c{i % 5}", "click", {"i": i})
    batch.close()
    sa.close()
    assert server.total("view") == 2 and server.total("pay") == 1 and server.total("$SignUp") == 1
    assert server.total("click") == 45
    assert persons_of(server, "cookie-1") == persons_of(server, "user-9")
    assert profile(server, "user-9") == (True, '{"city":"杭州","orders":1}')


def test_sensors_wrong_token_is_refused(server):
    import sensorsanalytics

    url = f"{server.url}/sa?project={server.project}&token=not-a-key"
    sa = sensorsanalytics.SensorsAnalytics(sensorsanalytics.DefaultConsumer(url))
    with pytest.raises(sensorsanalytics.SensorsAnalyticsNetworkException):
        sa.track("cookie-1", "view")
    assert server.total("view") == 0
