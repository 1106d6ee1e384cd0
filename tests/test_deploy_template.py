"""The deployment template: `chalice package --merge-template` of the real app with the resources
of scripts/deploy_template.py passes cfn-lint, declares every table the models declare (keys,
indexes, stream, TTL), wires the stream and the queue to their functions with partial batch
responses, and gives the functions' role no wildcard actions. The package is built from a copy of
the project with no requirements, which gives the same template in seconds (the Lambda zip with
its dependencies is `make package`'s, on Python 3.12)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.storage.connection import _BASE_NAMES
from chalicelib.storage.tables import ALL_MODELS, indexes, key_attributes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    work = tmp_path_factory.mktemp("package")
    project = work / "project"
    project.mkdir()
    shutil.copy(ROOT / "app.py", project)
    shutil.copytree(
        ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        ROOT / ".chalice",
        project / ".chalice",
        ignore=shutil.ignore_patterns("deployments", "deployed"),
    )
    (project / "requirements.txt").write_text("")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "deploy_template.py"),
            "prod",
            str(work / "resources.json"),
        ],
        check=True,
        env=env,
    )
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run(
        [
            str(chalice),
            "package",
            "--stage",
            "prod",
            "--merge-template",
            str(work / "resources.json"),
            str(work / "out"),
        ],
        cwd=project,
        check=True,
        env=env,
        capture_output=True,
    )
    return work / "out" / "sam.json"


def test_the_template_passes_cfn_lint(template):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(template)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_table_of_the_models_is_declared_with_its_keys(template):
    resources = json.loads(template.read_text())["Resources"]
    tables = {
        r["Properties"]["TableName"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    assert set(tables) == {"segments-prod-" + _BASE_NAMES[m] for m in ALL_MODELS}
    for model in ALL_MODELS:
        props = tables["segments-prod-" + _BASE_NAMES[model]]
        assert props["KeySchema"][0] == {
            "AttributeName": key_attributes(model)[0][1].attr_name,
            "KeyType": "HASH",
        }
        assert {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])} == {
            i.Meta.index_name for i in indexes(model)
        }
        assert ("TimeToLiveSpecification" in props) == ("expires" in model.get_attributes())
    assert tables["segments-prod-profiles"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }


def test_the_stream_and_the_queue_reach_their_functions(template):
    resources = json.loads(template.read_text())["Resources"]
    stream = resources["ScoreChangedProfiles"]["Properties"]["Events"][
        "ScoreChangedProfilesDynamodbEventSource"
    ]["Properties"]
    assert stream["Stream"] == {"Fn::GetAtt": ["ProfilesTable", "StreamArn"]}
    queue = resources["RunWork"]["Properties"]["Events"]["RunWorkSqsEventSource"]["Properties"]
    assert queue["Queue"] == {"Fn::Sub": "${WorkQueue.Arn}"}
    for source in (stream, queue):
        assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    work_queue = resources["WorkQueue"]["Properties"]
    worker_timeout = resources["RunWork"]["Properties"]["Timeout"]
    assert work_queue["VisibilityTimeout"] >= worker_timeout == 900
    assert work_queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]
    }


def test_the_role_allows_no_wildcard_action(template):
    resources = json.loads(template.read_text())["Resources"]
    policies = resources["DefaultRole"]["Properties"]["Policies"]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert actions and all("*" not in a for a in actions)
    assert not any(s["Resource"] == "*" and "Condition" not in s for s in statements)


def test_deploy_refuses_the_placeholder_secret_and_prepares_the_stack(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import deploy

    (tmp_path / "sam.json").write_text(
        json.dumps(
            {
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Serverless::Function",
                        "Properties": {"CodeUri": "./x.zip"},
                    }
                }
            }
        )
    )
    (tmp_path / "deployment.zip").write_bytes(b"zip")
    with pytest.raises(SystemExit, match="CURSOR_SECRET"):
        deploy.prepare(tmp_path, "prod", "artifacts")


def test_credentials_key_is_for_the_functions_role_and_in_their_environment(template):
    """GIVEN the packaged template THEN a rotated KMS key (kept if the stack goes) and its alias
    seal ad destinations' credentials, the functions' role may only encrypt and decrypt with
    that key, and every function finds its alias in CREDENTIALS_KMS_KEY."""
    from chalicelib.storage import credentials

    sam = json.loads(template.read_text())
    resources = sam["Resources"]
    key = resources["CredentialsKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    alias = resources["CredentialsKeyAlias"]["Properties"]
    assert alias == {
        "AliasName": "alias/segments-prod-credentials",
        "TargetKeyId": {"Ref": "CredentialsKey"},
    }
    kms_statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if any(str(a).startswith("kms:") for a in s["Action"])
    ]
    assert [(sorted(s["Action"]), s["Resource"]) for s in kms_statements] == [
        (["kms:Decrypt", "kms:Encrypt"], {"Fn::GetAtt": ["CredentialsKey", "Arn"]})
    ]
    policy = next(r for r in resources.values() if r["Type"] == "AWS::IAM::Policy")
    assert policy["Properties"]["Roles"] == [{"Ref": "DefaultRole"}]
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[credentials.KMS_KEY_VARIABLE] == {"Ref": "CredentialsKeyAlias"}
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions and not any(
        credentials.KMS_KEY_VARIABLE in f["Properties"].get("Environment", {}).get("Variables", {})
        for f in functions
    )  # none overrides the global


def test_the_gateways_own_errors_take_the_apps_error_shape(template):
    """GIVEN the packaged template WHEN API Gateway answers by itself (an unknown route, a
    refused or failed request) THEN the body is the app's {"error": {"code", "message"}} (the
    spec's Error schema), and an unknown route is a 404 not_found, not a 403."""
    jsonschema = pytest.importorskip("jsonschema")
    spec = json.loads((ROOT / "chalicelib" / "api" / "openapi.json").read_text())
    error_schema = {"$ref": "#/components/schemas/Error", "components": spec["components"]}
    api = json.loads(template.read_text())["Resources"]["RestAPI"]["Properties"]
    responses = api["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    bodies = {}
    for kind, response in responses.items():
        # what API Gateway substitutes: the message as a quoted JSON string
        text = response["responseTemplates"]["application/json"].replace(
            "$context.error.messageString", json.dumps('Missing "x" \\ token')
        )
        bodies[kind] = json.loads(text)
        jsonschema.validate(bodies[kind], error_schema)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert bodies["MISSING_AUTHENTICATION_TOKEN"]["error"]["code"] == "not_found"
    assert bodies["DEFAULT_4XX"]["error"]["message"] == 'Missing "x" \\ token'
    assert bodies["DEFAULT_5XX"]["error"] == {"code": "internal", "message": "internal error"}
    assert api["DefinitionBody"]["paths"]  # merged into chalice's definition, not replacing it


def test_keys_and_the_stage_are_throttled(template):
    """GIVEN the packaged template THEN a usage plan on the API's stage throttles a key at the
    service's default limits, and the stage as a whole has a rate and burst."""
    from chalicelib.storage.project_table import DEFAULT_BURST, DEFAULT_RATE_LIMIT

    resources = json.loads(template.read_text())["Resources"]
    plan = resources["KeyUsagePlan"]
    assert plan["Type"] == "AWS::ApiGateway::UsagePlan"
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": DEFAULT_RATE_LIMIT,
        "BurstLimit": DEFAULT_BURST,
    }
    assert plan["Properties"]["ApiStages"][0]["ApiId"] == {"Ref": "RestAPI"}
    (stage,) = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert stage["ThrottlingRateLimit"] > 0 and stage["ThrottlingBurstLimit"] > 0
