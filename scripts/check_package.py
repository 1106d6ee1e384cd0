"""Checks the Lambda package `chalice package` wrote: the zip really holds numpy, scipy and
scikit-learn (chalice exits 0 without them when it finds no wheels) and what the functions
import at run time (requests, for webhook delivery), and its unzipped size is
under Lambda's 250 MB limit. Prints the sizes."""

import sys
import zipfile
from collections import Counter
from pathlib import Path

LIMIT = 250 * 1024 * 1024
REQUIRED = (
    "numpy/",
    "scipy/",
    "sklearn/",
    "pynamodb/",
    "skops/",
    "requests/",
    "chalicelib/predict/artifacts/",
)


def main(zip_path: str) -> int:
    path = Path(zip_path)
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    unzipped = sum(i.file_size for i in infos)
    tops = Counter()
    for i in infos:
        tops[i.filename.split("/")[0]] += i.file_size
    print(
        f"{path.name}: {path.stat().st_size / 2**20:.1f} MiB zipped, {unzipped / 2**20:.1f} MiB "
        f"unzipped (Lambda limit {LIMIT / 2**20:.0f} MiB)"
    )
    for name, size in tops.most_common(8):
        print(f"  {name:30} {size / 2**20:7.1f} MiB")
    missing = [r for r in REQUIRED if not any(i.filename.startswith(r) for i in infos)]
    if missing:
        print(f"MISSING from the package: {missing}")
        return 1
    if unzipped > LIMIT:
        print("OVER the unzipped limit")
        return 1
    print("ok: dependencies present, under the limit")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
