#!/usr/bin/env bash
# Makes (once) a Python virtualenv with the given packages and prints its bin directory.
#   bash scripts/venv.sh DIR VERSION PACKAGE...
# DIR is created with `python3 -m venv`; the packages are installed when DIR/.installed-VERSION
# is missing, so changing VERSION (with the package list) reinstalls. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1
version=$2
shift 2
stamp="$venv/.installed-$version"
if [ ! -f "$stamp" ]; then
  echo "installing $* into $venv (once)..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  touch "$stamp"
fi
echo "$PWD/$venv/bin"
