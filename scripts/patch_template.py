"""Completes the SAM template `chalice package` writes with what chalice cannot express:
partial batch failure reporting on the DynamoDB stream trigger (FunctionResponseTypes), so the
records a handler reports in `batchItemFailures` are retried and the others are not."""

import json
import sys


def patch(path: str) -> int:
    with open(path) as fh:
        template = json.load(fh)
    patched = 0
    for resource in template["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") in ("DynamoDB", "SQS", "Kinesis"):
                event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
                patched += 1
    with open(path, "w") as fh:
        json.dump(template, fh, indent=2)
    print(f"{path}: ReportBatchItemFailures on {patched} event source(s)")
    return 0 if patched else 1


if __name__ == "__main__":
    sys.exit(patch(sys.argv[1]))
