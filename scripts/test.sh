#!/bin/sh
# Runs every check the project has: formatting, vet, staticcheck, the
# generator drift check, all tests (race detector on), and a cgo-free build
# of the runtime packages. This is the README's test command; .ci/run calls it.
set -eu
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

if [ -d cmd/eventgen ]; then
	step "generated bindings match headers/ (generate.go's eventgen command with -check)"
	# shellcheck disable=SC2046 # the directive's arguments, split into words
	go run ./cmd/eventgen $(sed -n 's|^//go:generate go run ./cmd/eventgen ||p' generate.go) -check
fi

step "pure Go: build everything (CGO_ENABLED=0; eventring's cgo-free tests run beside qemu below)"
CGO_ENABLED=0 go build ./...

step "other platforms compile (eventring reports unsupported at run time)"
GOOS=darwin GOARCH=arm64 go vet ./eventring/
GOOS=windows GOARCH=amd64 go build ./eventring/

step "linux/arm64: everything builds and vets"
GOOS=linux GOARCH=arm64 go vet ./...

step "linux/arm64: eventring tests under qemu-user"
qemu=$(command -v qemu-aarch64-static || true)
if [ -z "$qemu" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "installing Debian's qemu-user-static"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-user-static >/dev/null 2>&1; then
		apt-get update >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-user-static >/dev/null 2>&1 || true
	fi
	qemu=$(command -v qemu-aarch64-static || true)
fi
# eventring's tests without cgo run at the same time as the qemu run: each
# keeps about one of the two cores busy, so together they take little more
# than the qemu run alone. Their output is shown once both have ended.
cgofree_log=$(mktemp)
CGO_ENABLED=0 go test -count=1 ./eventring/ >"$cgofree_log" 2>&1 &
cgofree_pid=$!
qemu_status=0
if [ -n "$qemu" ]; then
	# No binfmt_misc needed: -exec runs the test binary through qemu, and
	# EVENTRING_TEST_EMULATOR makes the cross-process tests run their
	# writer process through it too.
	GOOS=linux GOARCH=arm64 EVENTRING_TEST_EMULATOR="$qemu" go test -count=1 -exec "$qemu" ./eventring/ || qemu_status=$?
else
	echo "qemu-user-static is not available (not root, or no apt-get):" \
		"linux/arm64 was built and vetted only, its tests did not run"
fi
cgofree_status=0
wait "$cgofree_pid" || cgofree_status=$?
step "pure Go: eventring tests (CGO_ENABLED=0), run beside the qemu run"
cat "$cgofree_log"
rm -f "$cgofree_log"
if [ "$qemu_status" -ne 0 ] || [ "$cgofree_status" -ne 0 ]; then
	echo "eventring tests failed: qemu-user status $qemu_status, CGO_ENABLED=0 status $cgofree_status"
	exit 1
fi

step "tests (race detector on)"
# Every package (./...), the longest-running ones named first: go test
# starts packages in the order given, two at a time on two cores, so the
# long ones overlap each other instead of one of them running alone at the
# end.
go test -race -timeout 20m ./cmd/monad-events ./blocks ./eventring ./gen ./evcap ./jetstream ./...

echo
echo "all checks passed"
