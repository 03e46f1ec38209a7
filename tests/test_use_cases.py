"""The announcement's use cases (examples/), and two apps side by side."""

from __future__ import annotations

import logging

from conftest import load_example

import djng

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


def test_mobile_phones_get_mobile_templates_in_preference():
    example = load_example("mobile_templates")
    client = djng.testing.Client(example.app)
    desktop = client.get("/?name=Ada").text
    phone = client.get("/?name=Ada", headers={"User-Agent": IPHONE}).text
    assert 'class="desktop"' in desktop and "viewport" not in desktop
    assert 'class="mobile"' in phone and "viewport" in phone
    # index.html is not overridden: it still comes from the default folder.
    assert "<h1>Hello, Ada</h1>" in desktop and "<h1>Hello, Ada</h1>" in phone
    # The push lasted one request only.
    assert 'class="desktop"' in client.get("/").text


def test_premium_users_send_mail_through_their_own_pool():
    example = load_example("premium_mail")
    client = djng.testing.Client(example.app)
    assert client.post("/welcome?user=alice").json() == {"user": "alice", "pool": "premium"}
    assert client.post("/welcome?user=bob").json() == {"user": "bob", "pool": "standard"}
    assert client.post("/welcome?user=carol").json()["pool"] == "premium"
    assert client.get("/outboxes").json() == {
        "standard": ["bob@example.com"],
        "premium": ["alice@example.com", "carol@example.com"],
    }


def test_a_section_with_its_own_cache_cannot_evict_other_entries():
    example = load_example("section_cache")
    # Named LocMem stores live as long as the process: empty them (this test runs twice).
    example.site_cache.clear()
    example.search_cache.clear()
    client = djng.testing.Client(example.app)
    assert client.get("/").json() == {"visits": 1}
    for i in range(300):  # far more keys than either cache holds
        assert client.get(f"/search/q{i}").status_code == 200
    assert client.get("/").json() == {"visits": 2}  # the site cache kept its entry
    assert example.site_cache.get("home:visits") == 2
    assert example.search_cache.get("search:q299") == "results for q299"
    assert example.site_cache.get("search:q299") is None


def test_errors_in_one_area_go_to_another_team(caplog):
    example = load_example("team_errors")
    client = djng.testing.Client(example.app, raise_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="djng.request"):
        assert client.get("/billing/charge").status_code == 500
        assert not [r for r in caplog.records if r.name == "djng.request"]
        assert client.get("/crash").status_code == 500
    [mail] = example.team_outbox.outbox
    assert mail.to == ["billing-team@example.com"]
    assert "/billing/charge" in mail.subject
    assert "the payment gateway timed out" in mail.body
    logged = [r for r in caplog.records if r.name == "djng.request"]
    assert len(logged) == 1 and "/crash" in logged[0].getMessage()


def test_admins_get_debug_pages_and_visitors_do_not():
    example = load_example("admin_debug")
    client = djng.testing.Client(example.app, raise_exceptions=False)
    visitor = client.get("/broken", headers={"Accept": "text/html"})
    admin = client.get("/broken", headers={"X-Admin-Token": "let-me-debug", "Accept": "text/html"})
    assert visitor.status_code == admin.status_code == 500
    assert "KeyError" not in visitor.text and "secret_recipe" not in visitor.text
    assert "KeyError" in admin.text and "Traceback" in admin.text
    assert "secret_recipe" in admin.text  # the locals of the failing frame
    wrong = client.get("/broken", headers={"X-Admin-Token": "guess", "Accept": "text/html"})
    assert "KeyError" not in wrong.text
    assert djng.debug.current() is False


def test_two_apps_side_by_side_each_see_only_their_own_services():
    example = load_example("two_apps")
    site = djng.testing.Client(example.site)
    assert site.post("/shop/orders").json() == {
        "app": "shop", "orders": 1, "last": "shop", "mails": 1,
    }
    site.post("/shop/orders")
    assert site.post("/blog/orders").json() == {
        "app": "blog", "orders": 1, "last": "blog", "mails": 1,
    }
    assert site.get("/shop/orders").json()["orders"] == 2
    assert len(example.shop_services["mail"].outbox) == 2
    assert len(example.blog_services["mail"].outbox) == 1
    assert example.shop_services["cache"].get("last") == "shop"
    assert example.blog_services["cache"].get("last") == "blog"
    # Each app also works as its own WSGI app in the same test session.
    shop_only = djng.testing.Client(example.shop)
    blog_only = djng.testing.Client(example.blog)
    assert shop_only.get("/orders").json()["orders"] == 2
    assert blog_only.get("/orders").json()["orders"] == 1
    # Nothing leaked into the process defaults.
    assert djng.cache.current() not in (
        example.shop_services["cache"], example.blog_services["cache"]
    )
