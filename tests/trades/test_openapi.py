"""The OpenAPI document, and schemathesis against it: no generated request may get a 5xx."""

from __future__ import annotations

import itertools
import time
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from tests.fakes.discord import FakeDiscord
from tests.fakes.massive_rest import FakeMassiveRest
from tests.trades.conftest import Api

# Bounded: a few dozen requests per operation, the whole run well under a minute.
EXAMPLES_PER_OPERATION = 60
CONFORMANCE = (status_code_conformance, content_type_conformance, response_schema_conformance)


def test_the_document_is_valid_openapi_listing_every_trades_and_alerts_route(api: Api) -> None:
    document = api.client.get("/api/openapi.json").get_json()
    validate(document)
    assert {
        "/api/trades",
        "/api/trades/{trade_id}",
        "/api/trades/{trade_id}/actions",
        "/api/alerts/preview",
        "/api/alerts/presets",
        "/api/openapi.json",
    } <= set(document["paths"])
    assert set(document["paths"]["/api/trades/{trade_id}"]) == {"get", "patch", "delete"}
    create = document["paths"]["/api/trades"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create == {"$ref": "#/components/schemas/TradeCreate"}


def test_the_document_needs_no_token(api: Api) -> None:
    assert api.client.get("/api/openapi.json").status_code == 200


def test_schemathesis_finds_no_server_error(
    app: Flask, api: Api, fake_discord: FakeDiscord, massive_env: FakeMassiveRest
) -> None:
    # fake_discord: a generated webhook URL that passes validation is checked live against the fake,
    # never against discord.com; massive_env: the market routes ask the fake Massive, which knows nothing,
    # so every generated symbol is an honest 404, never a 5xx; a trade
    # loaded without a price is quoted by it (a 404 too).
    trades = [api.load()["id"], api.enter()["id"], api.enter()["id"]]
    api.act(trades[2], "exit", price="2.00")
    known_ids = itertools.cycle([*trades, None])
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation fails the test here

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            if "trade_id" in (case.path_parameters or {}):
                known = next(known_ids)
                if known is not None:
                    case.path_parameters["trade_id"] = known
            response = case.call(headers=api.admin.headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}")
                return
            try:
                # The answer is the documented status, content type and model (errors included).
                case.validate_response(response, checks=CONFORMANCE)
            except BaseExceptionGroup as error:  # schemathesis reports its failures as a group
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {str(error)[:600]}")

        exercise()
    assert failures == []
    assert time.monotonic() - started < 60
