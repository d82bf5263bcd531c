"""Rewrites a zip so its bytes depend only on its files' names, contents and modes.

cargo-lambda stores each file's modification time, so two builds of the same code give
different zips (and Terraform would redeploy). This keeps the entries and their Unix modes,
sets every timestamp to 1980-01-01, orders entries by name and compresses at level 9.

Usage: python normalize_zip.py PACKAGE.zip
"""

import os
import sys
import tempfile
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def normalize(path: str) -> None:
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    entries.sort(key=lambda entry: entry[0].filename)

    directory = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(dir=directory, suffix=".zip.tmp")
    os.close(handle)
    try:
        with zipfile.ZipFile(temp_path, "w") as target:
            for info, data in entries:
                fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
                fixed.create_system = 3  # Unix, so the mode below is honoured
                mode = (info.external_attr >> 16) & 0o777 or 0o644
                fixed.external_attr = (0o100000 | mode) << 16
                fixed.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(fixed, data, compresslevel=9)
        os.replace(temp_path, path)
    except BaseException:
        os.unlink(temp_path)
        raise


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    normalize(sys.argv[1])
