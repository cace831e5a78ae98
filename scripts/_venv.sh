# Sourced by scripts/run and scripts/test: make sure .venv exists and holds the project with the
# requested extras and the SDK (client/), reinstalling only when a pyproject.toml changed.
set -euo pipefail
extras="${1:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${LSO_PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "LSO needs Python >= 3.11 (set LSO_PYTHON to one)" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
stamp="$venv/.lso-installed${extras:+-$extras}"
want="$(cat "$root/pyproject.toml" "$root/client/pyproject.toml" | sha256sum | cut -d' ' -f1)"
# The dev install (scripts/test) holds everything the plain one (scripts/run, scripts/lso) needs.
dev_stamp="$venv/.lso-installed-dev"
if [ -z "$extras" ] && [ -f "$dev_stamp" ] && [ "$(cat "$dev_stamp")" = "$want" ]; then
  stamp="$dev_stamp"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing LSO${extras:+ [$extras]} into $venv ..." >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet -e "$root${extras:+[$extras]}" -e "$root/client" >&2
  echo "$want" > "$stamp"
fi
