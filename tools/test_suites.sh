#!/usr/bin/env bash
# `make test`: ruff, the Python tests without the long ones (pytest mark `long`, see `make test-long`) and
# the JavaScript tests. Each suite runs even if one before it failed; the last lines recap every suite and
# the exit status is 1 if any failed.
#
#   tools/test_suites.sh PYTHON LOG_DIR [PYTEST ARGS...]
#
# Each suite's output goes to the terminal and to LOG_DIR (recreated). Node prints one dot per test (a
# failure in full); its TAP report, with the counts, goes to LOG_DIR/node.tap.
set -uo pipefail

python=$1 logs=$2
shift 2
rm -rf "$logs" && mkdir -p "$logs"
recap=()
failed=0

# The one-line result of each suite, read from its log.
ruff_summary() { grep -E '^(All checks passed|Found [0-9]+ error)' "$logs/ruff.txt" | tail -n 1; }
pytest_summary() { tail -n 1 "$logs/pytest.txt"; }
node_summary() { grep -E '^# (tests|pass|fail) [0-9]+$' "$logs/node.tap" | cut -c3- | paste -sd ' '; }

# add_recap NAME VERDICT TEXT: one aligned recap line.
add_recap() { recap+=("$(printf '  %-7s %-7s %s' "$1" "$2" "$3")"); }

# suite NAME COMMAND...: run COMMAND with its output also in LOG_DIR/NAME.txt; recap it with NAME_summary.
suite() {
  local name=$1 rc
  shift
  "$@" 2>&1 | tee "$logs/$name.txt"
  rc=$?
  [ "$rc" -eq 0 ] || failed=1
  add_recap "$name" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" "$("${name}_summary" 2>/dev/null)"
}

suite ruff "$python" -m ruff check .
suite pytest "$python" -m pytest -q -m "not long" "$@"
if command -v node >/dev/null 2>&1; then
  suite node node --test --test-reporter=dot --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$logs/node.tap" tests/js/
else
  add_recap node skipped "node not found: JavaScript tests skipped"
fi

# count WORD FILE: the number before WORD in FILE's summary ("769 passed", "# pass 27"), 0 if none.
count() { grep -oE "([0-9]+ $1|# $1 [0-9]+)" "$2" 2>/dev/null | tail -n 1 | grep -oE '[0-9]+' || echo 0; }

passed=$(( $(count passed "$logs/pytest.txt") + $(count pass "$logs/node.tap") ))
failures=$(( $(count failed "$logs/pytest.txt") + $(count fail "$logs/node.tap") ))
[ "$failures" -eq 0 ] && [ "$failed" -eq 1 ] && failures=1  # ruff, or a suite that stopped before its summary
skipped=$(count skipped "$logs/pytest.txt")

echo
echo "make test:"
printf '%s\n' "${recap[@]}"
# The plain closing line CI reads: every test of every suite (a failing suite counts at least once).
echo "total: $passed passed, $failures failed, $skipped skipped"
exit "$failed"
