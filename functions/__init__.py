"""The AWS Lambda functions (serverless.yml), by what runs them.

- `api/`: the HTTP areas, one module = one blueprint = one Lambda, with each area's request and
  answer models beside its routes (`api/trades/` for the trade lifecycle); `api/handlers.py` holds
  their Lambda handlers, which import no area until Lambda's init builds theirs.
- `jobs/`: the Lambdas on a schedule or a queue (ingest, prewarm, scanner, gamma; the Discord
  sender and sweeper; the idempotency clean-up).
- `web/`: what every HTTP area uses (app factory, errors, request parsing, auth, OpenAPI registry,
  the Lambda adapter); `lambda_context.py`: settings, logging and deadlines for every Lambda.
- `__main__.py`: `python -m functions serve | token | run` for a terminal (left out of the zip).

The layering (`api` and `jobs` apart, both above `web`) is an import-linter contract in pyproject.toml.
"""
