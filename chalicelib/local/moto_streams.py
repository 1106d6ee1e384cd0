"""Where moto's DynamoDB streams cost the local stack more than they should; each patch keeps the
records moto hands out as they were.

moto builds each GetRecords answer with its generic, reflective serializer: the local stream
runner's polls of the profiles stream (whole old and new images) held the lock for most of a
second each under load. `plain_stream_records` answers with the records as JSON, which they
already are.

moto sizes each record (SizeBytes) by dumping its keys and both images to JSON text, as each
write is made: a twentieth of a bulk load's `POST /profiles`, for a figure nothing reads.
`sized_stream_records` gives the stored size of the images instead (moto's own item sizes),
which is cheaper and closer to what DynamoDB reports.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone


def install() -> None:
    plain_stream_records()
    sized_stream_records()


def plain_stream_records() -> None:
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoDBStreamsHandler.get_records, "_plain", False):
        return

    def get_records(self):
        limit = self._get_param("Limit")
        result = self.backend.get_records(
            self._get_param("ShardIterator"), 1000 if limit is None else limit
        )
        records = []
        for record in result["Records"]:  # the time as the API sends it: epoch seconds
            when = datetime.fromisoformat(record["dynamodb"]["ApproximateCreationDateTime"])
            epoch = int(when.replace(tzinfo=timezone.utc).timestamp() * 1000) / 1000
            records.append(
                {**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": epoch}}
            )
        return json.dumps({**result, "Records": records})

    get_records._plain = True
    DynamoDBStreamsHandler.get_records = get_records


def sized_stream_records() -> None:
    from moto.core.utils import utcnow
    from moto.dynamodb.models import table as table_module
    from moto.moto_api._internal import mock_random

    original = table_module.StreamRecord
    if getattr(original, "_sized", False):
        return

    class StreamRecord(original):
        """moto's record (moto 5.1, dynamodb/models/table.py), sized as DynamoDB sizes it."""

        _sized = True

        def __init__(self, table, stream_type, event_name, old, new, seq):
            rec = old if old is not None else new
            keys = {table.hash_key_attr: rec.hash_key.to_json()}
            if table.range_key_attr is not None:
                keys[table.range_key_attr] = rec.range_key.to_json()
            size = 0  # the images' stored sizes, added below
            dynamodb = {
                "StreamViewType": stream_type,
                "ApproximateCreationDateTime": utcnow().isoformat(),
                "SequenceNumber": str(seq),
                "SizeBytes": 0,
                "Keys": keys,
            }
            if stream_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
                dynamodb["NewImage"] = new.to_json()["Attributes"] if new is not None else {}
                size += new.size() if new is not None else 0
            if stream_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
                dynamodb["OldImage"] = old.to_json()["Attributes"] if old is not None else {}
                size += old.size() if old is not None else 0
            dynamodb["SizeBytes"] = size
            self.record = {
                "eventID": mock_random.uuid4().hex,
                "eventName": event_name,
                "eventSource": "aws:dynamodb",
                "eventVersion": "1.0",
                "awsRegion": "us-east-1",
                "dynamodb": dynamodb,
            }

    table_module.StreamRecord = StreamRecord
