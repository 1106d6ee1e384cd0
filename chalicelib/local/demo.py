"""The demo project `make run` seeds: generated visitors (chalicelib.synthetic) with their events."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import synthetic
from ..behaviour import apply_events, parse_event
from ..profile_documents import merge_attributes
from ..storage import bulk_import, profile_table, project_table

DEMO_PROJECT = "demo"
DEMO_PROFILES = 2000


def ensure_project(project_id: str) -> None:
    if project_table.get_project(project_id) is None:
        project_table.create_project(project_id, "Demo shop")


def dev_key(project_id: str, key_file: Path) -> str:
    """The development key kept in the local data folder, made anew if it no longer works."""
    if key_file.exists():
        key = key_file.read_text().strip()
        if project_table.project_of_key(key) == project_id:
            return key
    key, _ = project_table.create_key(project_id)
    key_file.write_text(key)
    return key


def is_empty(project_id: str) -> bool:
    return next(profile_table.iter_profiles(project_id, page_size=1), None) is None


def seed(project_id: str, n: int = DEMO_PROFILES, seed: int = 7, out=sys.stdout) -> dict:
    visitors = synthetic.generate(n, seed=seed, days=120)

    def items():
        for v in visitors:
            events = [parse_event(e, "/events") for e in v.events]
            yield v.profile_id, v.attributes, events

    def progress(profiles: int, events: int) -> None:
        if profiles % 500 == 0 or profiles == n:
            print(f"  seeded {profiles}/{n} profiles, {events} events", file=out, flush=True)

    return bulk_import.import_profiles(
        project_id, items(), merge_attributes, apply_events, progress
    )
