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


def test_the_fake_answers_only_api_v10_and_records_other_paths() -> None:
    import requests

    with FakeDiscord() as fake:
        hook = fake.add_webhook()
        root = fake.api_base  # the API root, as DISCORD_API_BASE is set
        unversioned = requests.get(f"{root}/webhooks/{hook.id}/{hook.token}", timeout=5)
        v9 = requests.get(f"{root}/v9/webhooks/{hook.id}/{hook.token}", timeout=5)
        v10 = requests.get(f"{root}/v10/webhooks/{hook.id}/{hook.token}", timeout=5)
        assert (unversioned.status_code, v9.status_code, v10.status_code) == (404, 404, 200)
        assert fake.paths()[-1] == f"/api/v10/webhooks/{hook.id}/{hook.token}"
