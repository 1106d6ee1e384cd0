"""`make run`: the whole service on this machine, no AWS account, no Docker.

Starts moto's DynamoDB on 127.0.0.1, creates the tables, loads the data folder, seeds the demo
project, serves the API with chalice's local server, and runs what Lambda would run for us
(schedules, stream triggers) as threads. Every write is journaled as moto makes it, the store is
saved every saved_state.SAVE_EVERY seconds, and Ctrl-C saves and stops (saved_state.py, journal.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from . import journal, saved_state, session

log = logging.getLogger("local")
PROJECT_DIR = Path(__file__).resolve().parents[2]


# Python's collector walks every object it tracks, and this one process holds the whole store as
# moto's objects: in a bulk load (bench/ingest_api.py) collections were an eighth of the time.
# What start-up loaded is set aside (gc.freeze: never walked again, still freed when unreferenced)
# and collections of young objects come every 50,000 allocations rather than 700.
GC_THRESHOLDS = (50_000, 20, 100)


def settle_heap() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Stack:
    def __init__(self, port: int, data_dir: Path, demo_profiles: int):
        self.port, self.demo_profiles = port, demo_profiles
        self.paths = session.paths(data_dir)
        self.stop = threading.Event()
        self.lock = None
        self.store: saved_state.LocalStore | None = None
        self.moto = self.mock = None
        self.http = None
        self.threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.lock = session.try_lock(self.paths)
        if self.lock is None:
            raise SystemExit(
                f"another local stack (or CLI command) is using {self.paths['dir']}; stop it first"
            )
        from moto import mock_aws
        from moto.server import ThreadedMotoServer

        from .moto_lock import serialize_moto_calls

        serialize_moto_calls()
        # This process reaches moto in-process (mock_aws: no HTTP hop, several times faster);
        # other processes (the CLI) reach the same in-memory tables over HTTP.
        self.mock = mock_aws()
        self.mock.start()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, moto_port = self.moto.get_host_and_port()
        endpoint = f"http://{host}:{moto_port}"
        session.local_environment(self.paths, None)

        from ..storage.connection import create_tables
        from ..storage.model_store import ensure_bucket

        create_tables()
        ensure_bucket()
        from ..storage.work_queue import ensure_queue

        ensure_queue(visibility_timeout=10)  # a failed message comes back after 10 s locally
        self.store = saved_state.LocalStore(
            self.paths, session.REGION, session.TABLE_PREFIX, session.MODEL_BUCKET
        )
        loaded = self.store.load()
        print(
            f"Local DynamoDB on {endpoint}; loaded {loaded} items from {self.paths['store']}",
            flush=True,
        )
        from ..audience import compaction
        from ..storage import project_table

        compaction.forget_queued(p.project_id for p in project_table.list_projects())
        api_key = self._demo()
        settle_heap()
        self.paths["stack"].write_text(
            json.dumps(
                {"endpoint": endpoint, "api": f"http://127.0.0.1:{self.port}", "pid": os.getpid()}
            )
        )
        self._background(self._save_periodically, "saver")
        self._start_runners()

        from chalice.cli.factory import CLIFactory

        from .dev_server import create_local_server  # chalice's, with uniform error answers

        self.http = create_local_server(CLIFactory(str(PROJECT_DIR)), "127.0.0.1", self.port, "dev")
        print(f"API on http://127.0.0.1:{self.port}", flush=True)
        print("Project: demo", flush=True)
        print(f"API key: {api_key}", flush=True)
        print("Ctrl-C to stop (the data folder is saved on the way out).", flush=True)

    def _demo(self) -> str:
        from . import demo

        demo.ensure_project(demo.DEMO_PROJECT)
        key = demo.dev_key(demo.DEMO_PROJECT, self.paths["dev_key"])
        if self.demo_profiles and demo.is_empty(demo.DEMO_PROJECT):
            print(
                f"Seeding the demo project with {self.demo_profiles} generated profiles "
                "(first run only)...",
                flush=True,
            )
            started = time.time()
            demo.seed(demo.DEMO_PROJECT, self.demo_profiles)
            from ..audience.builder import snapshot_project

            snapshot_project(demo.DEMO_PROJECT)  # the first requests need not walk the table
            self.save()
            print(f"  done in {time.time() - started:.1f}s", flush=True)
        return key

    def _start_runners(self) -> None:
        """Stand-ins for Lambda's event sources (schedules, streams); see runners.py."""
        from . import runners

        for name, target in runners.runners(self.stop):
            self._background(target, name)

    def _background(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _save_periodically(self) -> None:
        while not self.stop.wait(journal.SYNC_EVERY):
            try:
                self.store.sync()
            except Exception:
                log.exception("syncing the journal failed")
            if (
                time.time() - self.store.last_save >= saved_state.SAVE_EVERY
                and self.store.has_changes()
            ):
                self.save()

    def save(self) -> None:
        """Waits for a save already running (the saver thread's), then saves."""
        try:
            started = time.time()
            items = self.store.save()
            from ..storage import change_log

            log.info(
                "saved %d items in %.2fs (writes paused %.2fs); change entries written again "
                "after landing late, so far: %d",
                items,
                time.time() - started,
                self.store.last_pause,
                change_log.copies_written,
            )
        except Exception:  # a failed periodic save must not take the stack down
            log.exception("saving the local store failed")

    def serve(self) -> None:
        try:
            self.http.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self.stop.set()
        deadline = time.time() + 5  # runners finish what they are doing, within reason
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.time()))
        if self.store:
            print("\nSaving the local store...", flush=True)
            self.save()
        if self.paths["stack"].exists():
            self.paths["stack"].unlink()
        if self.moto:
            self.moto.stop()
            self.mock.stop()
        if self.store:
            self.store.close()
        if self.lock:
            self.lock.close()
        print("Stopped.", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--data-dir", type=Path, default=session.DATA_DIR)
    parser.add_argument(
        "--demo-profiles",
        type=int,
        default=int(os.environ.get("DEMO_PROFILES", "2000")),
        help="profiles to seed into an empty demo project (0: none)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = Stack(args.port, args.data_dir, args.demo_profiles)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    stack.start()
    stack.serve()


if __name__ == "__main__":
    sys.exit(main())
