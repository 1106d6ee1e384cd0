"""The deployment template's part for ad destinations' credentials (a KMS key) and API Gateway's
own error answers; scripts/deploy_template.py merges it into the template."""

from __future__ import annotations

CREDENTIALS_KEY_VARIABLE = "CREDENTIALS_KMS_KEY"  # chalicelib/storage/credentials.py reads it
# API Gateway answers some requests itself, before any function runs; their bodies take the
# app's error shape (chalicelib/api/http.py). The templates allow only variable substitution
# ($context.error.messageString is already a quoted JSON string).
GATEWAY_ERRORS = {
    # an unknown route (or method) is "Missing Authentication Token", a 403: it is a 404 here
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", '"no such route or method"'),
    "DEFAULT_4XX": (None, "rejected", "$context.error.messageString"),
    "DEFAULT_5XX": (None, "internal", '"internal error"'),  # no detail leaks, as in the app
}


def credentials_key_and_gateway_errors(prefix: str) -> tuple[dict, dict]:
    """(resources, SAM Globals): a KMS key (rotated, kept if the stack goes: without it the
    stored credentials never open again) and its alias, only kms:Encrypt/Decrypt on it for the
    functions' role (bound to the encryption context credentials.py always sends), the alias in
    every function's environment; and the gateway responses. Those go into the API's definition
    (x-amazon-apigateway-gateway-responses) rather than AWS::ApiGateway::GatewayResponse
    resources, because a GatewayResponse created beside the stage's deployment does not reach
    the stage until a later deployment."""
    alias = f"alias/{prefix}credentials"
    resources = {
        "CredentialsKey": {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": "Seals ad destinations' credentials (CREDENTIALS_KMS_KEY)",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {  # the account administers the key through IAM, as by default
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {
                                    "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
                                }
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        },
        "CredentialsKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": "CredentialsKey"}},
        },
        "CredentialsKeyPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "CredentialsKey",
                "Roles": [{"Ref": "DefaultRole"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SealAndOpenCredentials",
                            "Effect": "Allow",
                            "Action": ["kms:Encrypt", "kms:Decrypt"],
                            "Resource": {"Fn::GetAtt": ["CredentialsKey", "Arn"]},
                            "Condition": {
                                "ForAllValues:StringEquals": {
                                    "kms:EncryptionContextKeys": ["project_id", "destination_id"]
                                }
                            },
                        }
                    ],
                },
            },
        },
        "RestAPI": {
            "Properties": {
                "DefinitionBody": {
                    "x-amazon-apigateway-gateway-responses": {
                        kind: {
                            **({"statusCode": status} if status else {}),
                            "responseParameters": {
                                "gatewayresponse.header.Content-Type": "'application/json'"
                            },
                            "responseTemplates": {
                                "application/json": '{"error": {"code": "%s", "message": %s}}'
                                % (code, message)
                            },
                        }
                        for kind, (status, code, message) in GATEWAY_ERRORS.items()
                    }
                }
            }
        },
    }
    environment = {"Variables": {CREDENTIALS_KEY_VARIABLE: {"Ref": "CredentialsKeyAlias"}}}
    return resources, {"Function": {"Environment": environment}}
