"""Writes the CloudFormation resources chalice does not create, as a template for
`chalice package --merge-template`: every DynamoDB table (keys and indexes read from the PynamoDB
models, the one place they are declared; the profiles stream; TTL where items expire), the S3
bucket (private, encrypted, exports and snapshot parts expiring), the work queue and its
dead-letter queue, the stream and queue wired to their functions, partial batch responses, and a
least-privilege policy for the functions' role.

    python scripts/deploy_template.py STAGE OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy_credentials import credentials_key_and_gateway_errors  # noqa: E402
from pynamodb.attributes import NumberAttribute  # noqa: E402

from chalicelib.storage.project_table import DEFAULT_BURST, DEFAULT_RATE_LIMIT  # noqa: E402
from chalicelib.storage.tables import ALL_MODELS, ProfileModel, key_attributes  # noqa: E402
from chalicelib.storage.tables import indexes as indexes_of  # noqa: E402

# the whole stage, whatever the key: a backstop above any one key's limits
STAGE_RATE_LIMIT, STAGE_BURST = 2000, 4000
QUEUE_VISIBILITY_SECONDS = 5400  # AWS advises six times the worker's 900 s timeout
MAX_RECEIVES = 5


def logical_id(base: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in base.split("_")) + suffix


def _type(attribute) -> str:
    return "N" if isinstance(attribute, NumberAttribute) else "S"


def table(model, prefix: str) -> dict:
    attrs = model.get_attributes()
    (_, hash_key), *rest = key_attributes(model)
    range_key = rest[0][1] if rest else None
    keys = [{"AttributeName": hash_key.attr_name, "KeyType": "HASH"}]
    defined = {hash_key.attr_name: _type(hash_key)}
    if range_key is not None:
        keys.append({"AttributeName": range_key.attr_name, "KeyType": "RANGE"})
        defined[range_key.attr_name] = _type(range_key)
    indexes = []
    for index in indexes_of(model):
        index_keys = []
        for attribute in index.Meta.attributes.values():
            if attribute.is_hash_key:
                index_keys.insert(0, {"AttributeName": attribute.attr_name, "KeyType": "HASH"})
                defined[attribute.attr_name] = _type(attribute)
            elif attribute.is_range_key:
                index_keys.append({"AttributeName": attribute.attr_name, "KeyType": "RANGE"})
                defined[attribute.attr_name] = _type(attribute)
        indexes.append(
            {
                "IndexName": index.Meta.index_name,
                "KeySchema": index_keys,
                "Projection": {"ProjectionType": index.Meta.projection.projection_type},
            }
        )
    properties = {
        "TableName": prefix + BASE_NAMES[model],
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": keys,
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in defined.items()
        ],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if indexes:
        properties["GlobalSecondaryIndexes"] = indexes
    if model is ProfileModel:
        properties["StreamSpecification"] = {"StreamViewType": model.Meta.stream_view_type}
    if "expires" in attrs:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": attrs["expires"].attr_name,
            "Enabled": True,
        }
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


# the models' base table names, before chalicelib.storage.connection.bind() prefixes them
BASE_NAMES = {}


def _base_names() -> None:
    from chalicelib.storage import connection

    BASE_NAMES.update(connection._BASE_NAMES)


def stage_settings(stage: str) -> dict:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }
    return env


def build(stage: str) -> dict:
    _base_names()
    env = stage_settings(stage)
    prefix, bucket, queue = env["TABLE_PREFIX"], env["MODEL_BUCKET"], env["WORK_QUEUE"]
    resources = {logical_id(BASE_NAMES[m], "Table"): table(m, prefix) for m in ALL_MODELS}
    profiles_table = logical_id(BASE_NAMES[ProfileModel], "Table")
    resources["ModelBucket"] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": bucket,
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "exports-expire",
                        "Prefix": "exports/",
                        "Status": "Enabled",
                        "ExpirationInDays": 1,
                    },
                    {
                        "Id": "snapshot-parts-expire",
                        "Prefix": "snapshot-parts/",
                        "Status": "Enabled",
                        "ExpirationInDays": 2,
                    },
                ]
            },
        },
    }
    resources["WorkDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": queue + "-dead",
            "MessageRetentionPeriod": 1209600,
            "SqsManagedSseEnabled": True,
        },
    }
    resources["WorkQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": queue,
            "VisibilityTimeout": QUEUE_VISIBILITY_SECONDS,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]},
                "maxReceiveCount": MAX_RECEIVES,
            },
        },
    }
    # the event sources chalice wrote from placeholders, pointed at the resources above
    resources["ScoreChangedProfiles"] = {
        "Properties": {
            "Events": {
                "ScoreChangedProfilesDynamodbEventSource": {
                    "Properties": {
                        "Stream": {"Fn::GetAtt": [profiles_table, "StreamArn"]},
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    }
                }
            }
        }
    }
    resources["RunWork"] = {
        "Properties": {
            "Events": {
                "RunWorkSqsEventSource": {
                    "Properties": {
                        # chalice wrote {"Fn::Sub": "<arn from the name>"}: the merge replaces that key
                        "Queue": {"Fn::Sub": "${WorkQueue.Arn}"},
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    }
                }
            }
        }
    }
    resources.update(request_limits())
    table_arns = [{"Fn::GetAtt": [name, "Arn"]} for name in resources if name.endswith("Table")]
    index_arns = [{"Fn::Sub": ["${Arn}/index/*", {"Arn": arn}]} for arn in table_arns]
    resources["DefaultRole"] = {
        "Properties": {
            "Policies": [
                {
                    "PolicyName": "DefaultRolePolicy",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "Logs",
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogGroup",
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                ],
                                "Resource": "arn:*:logs:*:*:*",
                            },
                            {
                                "Sid": "Tables",
                                "Effect": "Allow",
                                "Action": [
                                    "dynamodb:GetItem",
                                    "dynamodb:PutItem",
                                    "dynamodb:UpdateItem",
                                    "dynamodb:DeleteItem",
                                    "dynamodb:Query",
                                    "dynamodb:BatchGetItem",
                                    "dynamodb:BatchWriteItem",
                                    "dynamodb:ConditionCheckItem",
                                    "dynamodb:DescribeTable",
                                ],
                                "Resource": table_arns + index_arns,
                            },
                            {
                                "Sid": "ProfilesStream",
                                "Effect": "Allow",
                                "Action": [
                                    "dynamodb:DescribeStream",
                                    "dynamodb:GetRecords",
                                    "dynamodb:GetShardIterator",
                                    "dynamodb:ListStreams",
                                ],
                                "Resource": {"Fn::GetAtt": [profiles_table, "StreamArn"]},
                            },
                            {
                                "Sid": "Bucket",
                                "Effect": "Allow",
                                "Action": ["s3:ListBucket"],
                                "Resource": {"Fn::GetAtt": ["ModelBucket", "Arn"]},
                            },
                            {
                                "Sid": "Objects",
                                "Effect": "Allow",
                                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                "Resource": {
                                    "Fn::Sub": [
                                        "${Arn}/*",
                                        {"Arn": {"Fn::GetAtt": ["ModelBucket", "Arn"]}},
                                    ]
                                },
                            },
                            {
                                "Sid": "WorkQueue",
                                "Effect": "Allow",
                                "Action": [
                                    "sqs:SendMessage",
                                    "sqs:ReceiveMessage",
                                    "sqs:DeleteMessage",
                                    "sqs:GetQueueUrl",
                                    "sqs:GetQueueAttributes",
                                    "sqs:ChangeMessageVisibility",
                                ],
                                "Resource": {"Fn::GetAtt": ["WorkQueue", "Arn"]},
                            },
                            {
                                "Sid": "Metrics",
                                "Effect": "Allow",
                                "Action": ["cloudwatch:PutMetricData"],
                                "Resource": "*",
                                "Condition": {
                                    "StringEquals": {"cloudwatch:namespace": "PredictiveSegments"}
                                },
                            },
                        ],
                    },
                }
            ]
        }
    }
    key_and_errors, functions_globals = credentials_key_and_gateway_errors(prefix)
    # both add to chalice's RestAPI (gateway responses; method settings): merge its properties
    rest_api = key_and_errors.pop("RestAPI")["Properties"]
    resources.update(key_and_errors)
    resources["RestAPI"]["Properties"].update(rest_api)
    return {
        "Globals": functions_globals,
        "Resources": resources,
        "Outputs": {
            "WorkQueueUrl": {"Value": {"Ref": "WorkQueue"}},
            "ModelBucketName": {"Value": {"Ref": "ModelBucket"}},
            "KeyUsagePlanId": {"Value": {"Ref": "KeyUsagePlan"}},
        },
    }


def request_limits() -> dict:
    """API Gateway's throttling: the stage as a whole (method settings of chalice's RestAPI),
    and a usage plan with the default limits of a key (storage.project_table), which the API
    keys registered with API Gateway are associated with."""
    return {
        "RestAPI": {
            "Properties": {
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": STAGE_RATE_LIMIT,
                        "ThrottlingBurstLimit": STAGE_BURST,
                    }
                ]
            }
        },
        "KeyUsagePlan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Properties": {
                "Description": "default request limits of an API key",
                "ApiStages": [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}],
                "Throttle": {"RateLimit": DEFAULT_RATE_LIMIT, "BurstLimit": DEFAULT_BURST},
            },
        },
    }


def main(argv: list[str]) -> int:
    stage, out = argv[1], Path(argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build(stage), indent=2) + "\n")
    print(f"{out}: merge template for stage {stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
