"""HTTP to Discord's webhook endpoints (the edge): live checks and execute calls, via `requests`.

Every call goes to DISCORD_API_BASE with the webhook's id and token; nothing a user typed is
fetched, and redirects are never followed. Errors are described without the URL, which holds
the token.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, ValidationError
from urllib3.exceptions import NewConnectionError

from shared.discord.errors import DiscordUnavailable, WebhookRejected
from shared.discord.outcome import DiscordErrorBody
from shared.discord.ratelimit import RateLimitHeaders
from shared.discord.webhook_url import WebhookRef

# Connect fast or not at all; the read timeout bounds the one case that can duplicate a message
# (Discord posted it but we never heard), so it stays far below any function's timeout.
CONNECT_TIMEOUT_S = 3.05
READ_TIMEOUT_S = 7.0
USER_AGENT = "HoneyDrip (https://github.com/honeydrip, 1.0)"
INCOMING_WEBHOOK = 1


class DiscordWebhook(BaseModel):
    """The webhook object Discord's GET returns (the fields we keep)."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    id: str
    type: int = INCOMING_WEBHOOK
    guild_id: str | None = None
    channel_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ExecuteResult:
    """One execute call: the answer (status, body, headers) or the network failure."""

    started_at: float
    received_at: float
    status: int | None = None
    body: Any = None
    headers: RateLimitHeaders = field(default_factory=RateLimitHeaders)
    network_error: str | None = None
    maybe_posted: bool = False


def _refused_before_sending(error: requests.exceptions.ConnectionError) -> bool:
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class DiscordClient:
    """Calls Discord (or a fake) at `api_base`; one pooled session per thread."""

    def __init__(
        self,
        api_base: str,
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            # Proxies from the environment must not see webhook tokens, and retries are ours to decide.
            session.trust_env = False
            self._local.session = session
        return session

    def get_webhook(self, ref: WebhookRef) -> DiscordWebhook:
        """Discord's view of the webhook, or WebhookRejected (deleted, bad token) / DiscordUnavailable."""
        try:
            response = self._session().get(
                self.api_base + ref.api_path(), timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as failure:
            raise DiscordUnavailable(f"Discord could not be reached ({type(failure).__name__})") from None
        body = _json(response)
        error = DiscordErrorBody.model_validate(body) if isinstance(body, dict) else DiscordErrorBody()
        if response.status_code == 200:
            try:
                webhook = DiscordWebhook.model_validate(body)
            except ValidationError:
                raise DiscordUnavailable("Discord answered the webhook check with an unreadable body") from None
            if webhook.type != INCOMING_WEBHOOK:
                raise WebhookRejected("this is not an incoming webhook", status=200, code=None)
            return webhook
        if response.status_code == 404:
            raise WebhookRejected("webhook deleted", status=404, code=error.code)
        if response.status_code == 401:
            raise WebhookRejected("invalid webhook token", status=401, code=error.code)
        if 300 <= response.status_code < 400:
            raise WebhookRejected("the webhook check was redirected; refused", status=response.status_code, code=None)
        if response.status_code == 429:
            headers = RateLimitHeaders.parse(response.headers)
            wait = error.retry_after or headers.retry_after or 5.0
            raise DiscordUnavailable("Discord is rate limiting the webhook check", retry_after_s=wait)
        if response.status_code >= 500:
            raise DiscordUnavailable(f"Discord answered {response.status_code}")
        raise WebhookRejected(
            f"Discord refused the webhook ({response.status_code}{': ' + error.message if error.message else ''})",
            status=response.status_code,
            code=error.code,
        )

    def execute(self, ref: WebhookRef, payload: dict[str, Any]) -> ExecuteResult:
        """Post `payload` with `?wait=true`; never raises for HTTP or network trouble."""
        started = time.time()
        try:
            response = self._session().post(
                self.api_base + ref.api_path(),
                params={"wait": "true"},
                json=payload,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            return ExecuteResult(started, time.time(), network_error="connect timeout")
        except requests.exceptions.ConnectionError as error:
            if _refused_before_sending(error):
                return ExecuteResult(started, time.time(), network_error="connection refused")
            # Dropped after the request went out: Discord may have posted it.
            return ExecuteResult(
                started,
                time.time(),
                network_error="connection dropped before Discord answered; the message may have been posted",
                maybe_posted=True,
            )
        except requests.exceptions.Timeout:
            return ExecuteResult(
                started,
                time.time(),
                network_error="timed out waiting for Discord's answer; the message may have been posted",
                maybe_posted=True,
            )
        except requests.RequestException as error:
            return ExecuteResult(started, time.time(), network_error=f"request failed ({type(error).__name__})")
        return ExecuteResult(
            started,
            time.time(),
            status=response.status_code,
            body=_json(response),
            headers=RateLimitHeaders.parse(response.headers),
        )
