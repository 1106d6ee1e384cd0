"""The local stack: moto's DynamoDB on 127.0.0.1, persisted to a data folder, plus the chalice
HTTP server and the runners that stand in for Lambda's schedules and stream triggers.
Development only: imports moto, which the Lambda package does not ship."""
