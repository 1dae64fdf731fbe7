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

step "pure Go: build everything, test eventring (CGO_ENABLED=0)"
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 go test -count=1 ./eventring/

step "other platforms compile (eventring reports unsupported at run time)"
GOOS=darwin GOARCH=arm64 go vet ./eventring/
GOOS=windows GOARCH=amd64 go build ./eventring/

step "tests (race detector on)"
go test -race -timeout 20m ./...

echo
echo "all checks passed"
