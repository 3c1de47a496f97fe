#!/usr/bin/env bash
# test.sh: install what is missing, build, and run every test suite.
#   scripts/test.sh                 all suites (unit, bpf, dpdk, integration)
#   scripts/test.sh unit bpf        only the named suites
# Exit status is non-zero on any failure. Tests that need root or hugepages
# skip (exit 77) with a reason when run unprivileged; under CI (CI=true), where
# we are root, a skipped test counts as a failure, so nothing is passed off.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ "$(id -u)" -eq 0 ]; then
	scripts/deps.sh --hugepages
else
	scripts/deps.sh || true
fi

build=${SLUICE_BUILD:-build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null || { ninja -C "$build" -j1; exit 1; }

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit bpf dpdk integration)
args=()
for s in "${suites[@]}"; do
	args+=(--suite "$s")
done

rc=0
meson test -C "$build" --print-errorlogs --num-processes 1 "${args[@]}" || rc=$?

# One closing line in the plain form CI understands, from meson's own log.
log="$build/meson-logs/testlog.json"
read -r pass fail skip < <(/usr/bin/python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
if [ "${CI:-}" = "true" ] && [ "$skip" -gt 0 ]; then
	echo "test.sh: $skip test(s) skipped under CI, where all must run (see the log above)" >&2
	rc=1
fi
echo "$pass passed, $fail failed, $skip skipped"
exit $rc
