"""The fake Discord itself: what the other tests and the benchmark rely on."""

from __future__ import annotations

from tests.fakes.discord import FakeDiscord


def test_webhooks_never_share_an_id() -> None:
    # A shared id made the first webhook's posts 401 (its token no longer matched), which
    # deactivated a whole channel in about 1 % of benchmark runs.
    fake = FakeDiscord()
    hooks = [fake.add_webhook() for _ in range(5000)]
    assert len({hook.id for hook in hooks}) == len(hooks)
    assert len({hook.channel_id for hook in hooks}) == len(hooks)
    assert all(len(hook.id) == 19 for hook in hooks)
