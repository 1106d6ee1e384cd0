"""The operator CLI on the local store (no `make run`): import, train, rescore, export, keys."""

import csv
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.fixture
def cli(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("TABLE_PREFIX", "CURSOR_SECRET")
    }
    env["LOCAL_DATA_DIR"] = str(tmp_path / "store")

    def run(*args, ok=True):
        result = subprocess.run(
            [sys.executable, "-m", "chalicelib.cli", *map(str, args)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    return run


def write_log(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "timestamp", "amount", "order_id"])
        writer.writerows(rows)


def test_import_is_idempotent_and_export_lists_every_profile(cli, tmp_path):
    log = tmp_path / "log.csv"
    write_log(
        log,
        [
            ("c1", "2026-01-05", "10.5", "o1"),
            ("c1", "2026-02-05", "4.5", "o2"),
            ("c2", "2026-01-07T10:00:00Z", "99", ""),
        ],
    )
    first = json.loads(
        cli("import-transactions", log, "--project", "shop").stdout.strip().splitlines()[-1]
    )
    assert (first["profiles"], first["events"]) == (2, 3)
    again = json.loads(
        cli("import-transactions", log, "--project", "shop").stdout.strip().splitlines()[-1]
    )
    assert (again["events"], again["duplicates"]) == (0, 3)
    rescore = json.loads(cli("rescore", "--project", "shop", "--as-of", "2026-03-01").stdout)
    assert rescore["profiles_read"] == 2 and rescore["written"] == 2
    out = tmp_path / "export.csv"
    cli("export", "--project", "shop", "--out", out)
    rows = {r["profile_id"]: r for r in csv.DictReader(open(out))}
    assert set(rows) == {"c1", "c2"}
    assert float(rows["c1"]["clv_past"]) == 15.0
    assert {
        "conversion_potential",
        "clv",
        "clv_predicted",
        "customer_type",
        "persuasion_type",
        "model_version",
    } <= set(rows["c1"])


def test_bad_rows_are_refused_with_the_line(cli, tmp_path):
    log = tmp_path / "bad.csv"
    write_log(log, [("c1", "2026-01-05", "ten", "o1")])
    result = cli("import-transactions", log, "--project", "shop", ok=False)
    assert result.returncode == 2 and "line 2" in result.stderr


def test_training_on_too_little_data_is_a_clear_status(cli, tmp_path):
    log = tmp_path / "small.csv"
    write_log(log, [(f"c{i}", "2026-01-05", "10", f"o{i}") for i in range(20)])
    cli("import-transactions", log, "--project", "shop")
    result = json.loads(cli("train", "--project", "shop", "--as-of", "2026-03-01").stdout)
    assert result["status"] == "insufficient_data" and "need 200" in result["reason"]


def test_keys_can_be_created_listed_and_revoked(cli):
    cli("create-project", "--project", "shop")
    out = cli("create-key", "--project", "shop").stdout
    key_id = out.split("key id: ")[1].split()[0]
    assert "active" in cli("list-keys", "--project", "shop").stdout
    cli("revoke-key", key_id)
    assert "revoked" in cli("list-keys", "--project", "shop").stdout


def test_key_limits_are_set_and_shown(cli):
    # GIVEN a key created with limits WHEN they change THEN the key commands show them
    cli("create-project", "--project", "shop")
    out = cli("create-key", "--project", "shop", "--rate", "2", "--burst", "5").stdout
    assert "limits 2 requests/s, bursts of 5" in out
    key_id = out.split("key id: ")[1].split()[0]
    assert "bursts of 9" in cli("set-key-limits", key_id, "--burst", "9").stdout
    assert "limits 2 requests/s, bursts of 9" in cli("list-keys", "--project", "shop").stdout
    assert cli("set-key-limits", key_id, "--rate", "0", ok=False).returncode == 2


def test_every_command_has_help(cli):
    for command in ("import-transactions", "train", "rescore", "export", "create-key"):
        assert "usage" in cli(command, "--help").stdout


def test_segments_are_listed_and_counted_and_keys_rotated(cli, tmp_path):
    log = tmp_path / "log.csv"
    write_log(log, [("c1", "2026-01-05", "10.5", "o1"), ("c2", "2026-01-07", "99", "o2")])
    cli("import-transactions", log, "--project", "shop")
    from chalicelib.local.session import local_store  # noqa: F401  (the CLI's own store)

    key = cli("create-key", "--project", "shop").stdout
    key_id = key.split("key id: ")[1].split()[0]
    rotated = cli("rotate-key", "--project", "shop", key_id).stdout
    assert "API key: sk_" in rotated and f"revoked {key_id}" in rotated
    listed = cli("list-keys", "--project", "shop").stdout
    assert f"{key_id}" in listed and "revoked" in listed and "active" in listed
    assert cli("rotate-key", "--project", "shop", key_id, ok=False).returncode == 2
    assert cli("segments", "--project", "shop").stdout == ""
    help_text = cli("segment-count", "--help").stdout
    assert "expected conversions" in help_text


def test_segment_commands_answer_like_the_api(api, project, capsys):
    from chalicelib import cli as operator_cli

    api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": f"e{i}",
                    "profile_id": f"p{i}",
                    "type": "purchase",
                    "timestamp": "2026-11-01T10:00:00Z",
                    "value": 10 * i,
                }
                for i in range(6)
            ]
        },
    )
    sid = api.post(
        "/segments",
        {
            "name": "buyers",
            "match": "all",
            "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 30}],
        },
    )[1]["segment_id"]
    capsys.readouterr()
    assert operator_cli.main(["--aws", "segments", "--project", project["id"]]) == 0
    assert capsys.readouterr().out.strip() == f"{sid}  'buyers'  match all  3 members"
    assert operator_cli.main(["--aws", "segment-count", "--project", project["id"], sid]) == 0
    counted = json.loads(capsys.readouterr().out)
    assert counted["count"] == api.get(f"/segments/{sid}/count")[1]["count"] == 3
    assert (
        operator_cli.main(["--aws", "segment-count", "--project", project["id"], "seg_nope"]) == 2
    )


def subcommands() -> set[str]:
    """Every command of the CLI's parser, as `--help` lists them."""
    import argparse

    from chalicelib.cli import build_parser

    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


# Every command with arguments that make it do its work, in an order in which they can. A new
# command fails test_every_cli_command_stays_on_loopback until it is listed here.
COMMANDS = [
    ("create-project", ["--project", "shop"]),
    ("list-projects", []),
    ("create-key", ["--project", "shop"]),
    ("set-key-limits", ["{key_id}", "--rate", "5", "--burst", "10"]),
    ("list-keys", ["--project", "shop"]),
    ("rotate-key", ["--project", "shop", "{key_id}"]),
    ("revoke-key", ["{new_key_id}"]),
    ("create-write-key", ["--project", "shop"]),
    ("list-write-keys", ["--project", "shop"]),
    ("rotate-write-key", ["--project", "shop", "{write_key_id}"]),
    ("revoke-write-key", ["--project", "shop", "{new_write_key_id}"]),
    ("set-shopify-secret", ["--project", "shop", "--secret", "shpss_test"]),
    ("import-transactions", ["{log}", "--project", "shop"]),
    ("seed-demo", ["--project", "demo", "--profiles", "5"]),
    ("train", ["--project", "shop", "--as-of", "2026-03-01"]),
    ("rescore", ["--project", "shop", "--as-of", "2026-03-01"]),
    ("snapshot", ["--project", "demo"]),
    ("segments", ["--project", "demo"]),
    ("segment-count", ["--project", "demo", "{segment_id}"]),
    ("export", ["--project", "shop", "--out", "{out}"]),
]


def test_every_cli_command_stays_on_loopback(tmp_path):
    """GIVEN `make run` running (the CLI then talks to its moto server over HTTP) and the network
    cut off except loopback, in the stack and in each command's process (tests/netguard)
    WHEN every command of the parser runs THEN each succeeds and none looks up or connects to
    any other address. (`snapshot` queried AWS's public endpoint, with an unprefixed table
    name, because its first query ran before the models were bound to the local endpoint.)"""
    from test_e2e_local_stack import LocalStack

    assert [name for name, _ in COMMANDS] and {name for name, _ in COMMANDS} == subcommands()
    attempts = tmp_path / "network-attempts.log"
    stack = LocalStack(tmp_path / "data", demo_profiles=5)
    stack.env.update(NETGUARD_LOG=str(attempts), PYTHONPATH=str(ROOT / "tests" / "netguard"))
    stack.start()
    try:
        status, segment = stack.call(
            "POST",
            "/projects/demo/segments",
            {
                "name": "buyers",
                "match": "all",
                "rules": [{"field": "behaviour.orders", "operator": "gte", "value": 0}],
            },
        )
        assert status == 201, segment
        log = tmp_path / "log.csv"
        write_log(log, [("c1", "2026-01-05", "10.5", "o1"), ("c2", "2026-01-07", "99", "o2")])
        values = {
            "segment_id": segment["segment_id"],
            "log": str(log),
            "out": str(tmp_path / "export.csv"),
        }
        for name, args in COMMANDS:
            result = stack.cli(name, *[a.format(**values) for a in args])
            assert result.returncode == 0, (name, result.stdout, result.stderr[-3000:])
            assert not attempts.exists(), (name, attempts.read_text(), result.stderr[-3000:])
            if name == "create-key":
                values["key_id"] = result.stdout.split("key id: ")[1].split()[0]
            if name == "rotate-key":
                values["new_key_id"] = result.stdout.split("new key id: ")[1].split()[0]
            if name == "create-write-key":
                values["write_key_id"] = result.stdout.split("write key id: ")[1].split()[0]
            if name == "rotate-write-key":
                values["new_write_key_id"] = result.stdout.split("new write key id: ")[1].split()[0]
        assert "c1" in (tmp_path / "export.csv").read_text()
    finally:
        stack.stop()
    assert not attempts.exists(), attempts.read_text()


@pytest.mark.parametrize(
    "row, column",
    [
        (("c1", "2026-01-05", "-12.50", "o1"), "amount"),  # a refund: not a purchase
        (("c1", "2026-01-05", "1e300", "o1"), "amount"),
        (("", "2026-01-05", "10", "o1"), "customer_id"),
        (("c1", "yesterday", "10", "o1"), "timestamp"),
    ],
)
def test_a_refused_row_names_its_csv_column(tmp_path, row, column):
    # GIVEN a log whose second row is wrong in one column
    from chalicelib.infra.errors import ValidationError
    from chalicelib.services import imports

    log = tmp_path / "bad.csv"
    write_log(log, [("c0", "2026-01-04", "10", "o0"), row])
    # WHEN it is read for import
    with pytest.raises(ValidationError) as refused:
        imports.read_transactions(log)
    # THEN the error names the line and the column as the CSV spells it, not the event's field
    assert refused.value.path == f"/line/3/{column}"
    assert refused.value.message.startswith(f"line 3: {column}")
