"""The local stack's moto patches: a failed transaction leaves every item as it was (moto's
whole-table copies are replaced by item backups), and a successful one applies all its items."""

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
    )
    client.put_item(TableName="t", Item={"k": {"S": "a"}, "x": {"N": "1"}})
    client.put_item(TableName="t", Item={"k": {"S": "b"}, "x": {"N": "1"}})
    client.put_item(TableName="t", Item={"k": {"S": "d"}, "x": {"N": "1"}})
    return client


def items(client):
    return {i["k"]["S"]: i.get("x", {}).get("N") for i in client.scan(TableName="t")["Items"]}


def test_a_failed_transaction_changes_nothing(table):
    with pytest.raises(ClientError) as error:
        table.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"k": {"S": "a"}},
                        "UpdateExpression": "SET x = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": "t", "Item": {"k": {"S": "c"}, "x": {"N": "3"}}}},
                {"Delete": {"TableName": "t", "Key": {"k": {"S": "d"}}}},
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"k": {"S": "b"}, "x": {"N": "9"}},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                },
            ]
        )
    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert items(table) == {"a": "1", "b": "1", "d": "1"}


def test_a_transaction_that_holds_applies_every_item(table):
    table.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"k": {"S": "a"}},
                    "UpdateExpression": "SET x = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}},
                }
            },
            {
                "Put": {
                    "TableName": "t",
                    "Item": {"k": {"S": "c"}, "x": {"N": "3"}},
                    "ConditionExpression": "attribute_not_exists(k)",
                }
            },
            {"Delete": {"TableName": "t", "Key": {"k": {"S": "b"}}}},
        ]
    )
    assert items(table) == {"a": "2", "c": "3", "d": "1"}
