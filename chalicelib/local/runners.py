"""Stand-ins for Lambda's event sources in the local stack."""
from __future__ import annotations

import threading


def runners(stop: threading.Event) -> list:
    """(name, target) pairs the stack runs as threads until `stop` is set."""
    return []
