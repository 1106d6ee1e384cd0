"""The real local stack as a child process (as `make run` starts it), for the end-to-end, browser
and fuzz tiers: started on a free loopback port with its own data folder, driven over HTTP."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStack:
    def __init__(self, data_dir: Path, demo_profiles: int = 150):
        self.data_dir, self.port = data_dir, free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith("AWS_")
                and k not in ("TABLE_PREFIX", "CURSOR_SECRET", "DYNAMODB_ENDPOINT")
            },
            "LOCAL_DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "DEMO_PROFILES": str(demo_profiles),
        }
        self.log = data_dir / "stack.log"

    def start(self, timeout=180):
        data_dir = self.data_dir
        data_dir.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.stack"],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log, "w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log.read_text()
            match = re.search(r"^API key: (\S+)$", text, re.M)
            if match and "Serving on" in text or (match and self._up()):
                self.key = match.group(1)
                return self
            assert self.proc.poll() is None, text
            time.sleep(0.5)
        raise AssertionError("the stack did not start:\n" + self.log.read_text())

    def _up(self):
        try:
            requests.get(self.api + "/", timeout=1)
            return True
        except requests.ConnectionError:
            return False

    def stop(self):
        # the stack stops on SIGTERM as on Ctrl-C; SIGINT is ignored when run as a background job
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def call(self, method, path, body=None, key=None):
        r = requests.request(
            method, self.api + path, json=body, timeout=60, headers={"x-api-key": key or self.key}
        )
        return r.status_code, r.json()

    def cli(self, *args):
        return subprocess.run(
            [sys.executable, "-m", "chalicelib.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
