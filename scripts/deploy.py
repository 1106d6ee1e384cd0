"""Deploys what `make package` built to the AWS account of the current credentials: uploads the
Lambda zip to an S3 bucket of yours, points the template's functions at it, and creates or
updates the CloudFormation stack `predictive-segments-<stage>` through a change set.

    python scripts/deploy.py --stage prod --bucket my-artifacts build/package [--dry-run]

Refuses to deploy a stage whose CURSOR_SECRET is still the placeholder of .chalice/config.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_SECRETS = {
    "set-a-long-random-secret-before-deploying",
    "dev-only-cursor-secret-change-me",
}


def stack_name(stage: str) -> str:
    return f"predictive-segments-{stage}"


def prepare(package_dir: Path, stage: str, bucket: str) -> tuple[dict, str, bytes]:
    """The template with CodeUri pointing at the uploaded zip, the zip's key, the zip."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    secret = config["stages"][stage].get("environment_variables", {}).get("CURSOR_SECRET", "")
    if secret in PLACEHOLDER_SECRETS or len(secret) < 32:
        raise SystemExit(
            f"set a random CURSOR_SECRET of 32+ characters for stage {stage!r} in "
            ".chalice/config.json first (it signs page cursors)"
        )
    if not bucket:
        raise SystemExit("give --bucket (or DEPLOY_BUCKET=...): an S3 bucket for the Lambda zip")
    template = json.loads((package_dir / "sam.json").read_text())
    blob = (package_dir / "deployment.zip").read_bytes()
    key = f"predictive-segments/{stage}/{hashlib.sha256(blob).hexdigest()[:16]}.zip"
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
    return template, key, blob


def deploy(template: dict, stage: str, bucket: str, key: str, blob: bytes) -> dict:
    import boto3

    s3, cfn = boto3.client("s3"), boto3.client("cloudformation")
    s3.put_object(Bucket=bucket, Key=key, Body=blob)
    body = json.dumps(template)
    template_key = key.replace(".zip", ".json")
    s3.put_object(Bucket=bucket, Key=template_key, Body=body.encode())  # over 51,200 bytes
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": template_key}, ExpiresIn=3600
    )
    name = stack_name(stage)
    try:
        cfn.describe_stacks(StackName=name)
        kind = "UPDATE"
    except cfn.exceptions.ClientError:
        kind = "CREATE"
    change_set = f"deploy-{int(time.time())}"
    cfn.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType=kind,
        TemplateURL=url,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    try:
        cfn.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName=change_set)
    except Exception:
        status = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        if "didn't contain changes" in status.get("StatusReason", ""):
            print("no changes to deploy")
            return {}
        raise
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 15, "MaxAttempts": 240})
    outputs = cfn.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("package_dir", type=Path)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--bucket", default="")
    parser.add_argument(
        "--dry-run", action="store_true", help="check and prepare everything, touch no AWS resource"
    )
    args = parser.parse_args(argv)
    template, key, blob = prepare(args.package_dir, args.stage, args.bucket)
    functions = [
        n for n, r in template["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"
    ]
    print(
        f"stack {stack_name(args.stage)}: {len(template['Resources'])} resources, functions "
        f"{', '.join(functions)}; code s3://{args.bucket}/{key} ({len(blob) / 2**20:.1f} MiB)"
    )
    if args.dry_run:
        return 0
    for name, value in deploy(template, args.stage, args.bucket, key, blob).items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
