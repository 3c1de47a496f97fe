#!/usr/bin/env bash
# format.sh: apply .clang-format (kernel style) to every C source and header.
#   scripts/format.sh          rewrite the files in place
#   scripts/format.sh --check  list the files that are not formatted; exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format is not installed (apt-get install clang-format)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = --check ]; then
	bad=0
	for f in "${files[@]}"; do
		if ! clang-format --style=file "$f" | cmp -s - "$f"; then
			echo "$f"
			bad=1
		fi
	done
	exit $bad
fi
clang-format --style=file -i "${files[@]}"
