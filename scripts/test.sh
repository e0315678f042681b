#!/usr/bin/env bash
# Runs every check of the repository: gofmt, go vet, and the unit and
# end-to-end tests (the latter need root and ./scripts/install.sh first).
# Exits non-zero if any step fails; the last line is a summary.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

failed=()
step() { echo; echo "==> $*"; }

step "gofmt -l"
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path './.cache/*' -print0 | xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
	echo "these files need gofmt -w:"
	echo "$unformatted"
	failed+=(gofmt)
fi

step "go vet ./..."
go vet ./... || failed+=(vet)

step "go test -count=1 ./..."
go test -count=1 -timeout 20m ./... || failed+=(test)

echo
if [ ${#failed[@]} -eq 0 ]; then
	echo "test.sh: PASS (gofmt, vet, tests)"
else
	echo "test.sh: FAIL (${failed[*]})"
	exit 1
fi
