"""What the Lambda functions import at run time is declared in requirements.txt, the file chalice
packages from: a module imported by chalicelib but only installed as a dev dependency would pass
every local test and fail in Lambda (webhook delivery's `requests` did)."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not in the Lambda package's run-time path: the local stack (moto) and the model trainer's
# synthetic data are dev tools; chalice is supplied by chalice itself when packaging.
DEV_ONLY = ("chalicelib/local/",)
PROVIDED = {"chalice", "chalicelib", "app"}


def imported_top_levels() -> set[str]:
    names = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        if any(part in path.as_posix() for part in DEV_ONLY):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - PROVIDED


def declared() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {
        re.split(r"[=<>!~\[ ;#]", line.strip())[0].lower().replace("_", "-")
        for line in lines
        if line.strip() and not line.startswith(("#", "-"))
    }


def test_every_run_time_import_is_in_requirements_txt():
    # GIVEN every third-party module chalicelib imports outside the dev-only parts
    distributions = packages_distributions()
    needed = {}
    for name in imported_top_levels():
        for dist in distributions.get(name, [name]):
            needed.setdefault(dist.lower().replace("_", "-"), name)
    # WHEN compared with the run-time requirements
    missing = {dist: name for dist, name in needed.items() if dist not in declared()}
    # THEN nothing is missing (a transitive dependency of a declared one counts as declared
    # only if listed: the package must not rely on what another package happens to pull in)
    assert not missing, f"imported at run time but not in requirements.txt: {missing}"
