package gen

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests of this file follow the user's path after a daemon upgrade
// (README, "After a daemon upgrade") on a copy of the whole module: edit
// headers/, run the real go:generate directive with go generate ./..., then
// build the module with the go command. They use no identifier of this
// package's API, only the go command and the header edit helpers.

// headersHash is the schema hash of headers/, in hex.
const headersHash = "8933f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3"

// modCopy is a copy of this module in a temporary directory, where the go
// command runs offline with the caller's module and build caches.
type modCopy struct {
	t   *testing.T
	dir string
	env []string
}

// newModCopy copies the module (the directory above gen/, without .git and
// build outputs) into a temporary directory. It skips the test under
// -short or without a go command.
func newModCopy(t *testing.T) *modCopy {
	t.Helper()
	if testing.Short() {
		t.Skip("copies the module and runs go generate and go build in it (tens of seconds)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := filepath.Join(t.TempDir(), "module")
	copyTreeTo(t, "..", dir, func(rel string) bool {
		base := filepath.Base(rel)
		return rel == ".git" || rel == "bin" || rel == "monad-events" ||
			strings.HasSuffix(base, ".test") || strings.HasSuffix(base, ".prof")
	})
	return &modCopy{t: t, dir: dir, env: append(os.Environ(),
		"GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")}
}

// run runs the go command in the copy and returns its combined output and
// exit status; it fails the test if the command does not start.
func (m *modCopy) run(args ...string) (string, int) {
	m.t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = m.dir
	cmd.Env = m.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	m.t.Logf("go %s: %.1fs", strings.Join(args, " "), time.Since(start).Seconds())
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	m.t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	return "", 0
}

// mustGo runs the go command in the copy and fails the test unless it
// succeeds.
func (m *modCopy) mustGo(args ...string) string {
	m.t.Helper()
	out, code := m.run(args...)
	if code != 0 {
		m.t.Fatalf("go %s in the module copy: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// path returns the path of a slash-separated file of the copy.
func (m *modCopy) path(rel string) string { return filepath.Join(m.dir, filepath.FromSlash(rel)) }

// generate runs go generate ./... in the copy, checks that a second run
// changes nothing, and returns the output of the first.
func (m *modCopy) generate() string {
	m.t.Helper()
	out := m.mustGo("generate", "./...")
	before := treeState(m.t, m.dir)
	time.Sleep(10 * time.Millisecond) // let a write show in mtimes
	m.mustGo("generate", "./...")
	after := treeState(m.t, m.dir)
	for p, s := range after {
		if b, ok := before[p]; !ok || b != s {
			m.t.Errorf("the second go generate ./... wrote %s", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			m.t.Errorf("the second go generate ./... removed %s", p)
		}
	}
	return out
}

// diff runs eventgen -diff OLD -root headers in the copy through go run
// and returns eventgen's standard output (go run's own "exit status" line
// taken out) and exit status.
func (m *modCopy) diff(old string) (string, int) {
	m.t.Helper()
	out, code := m.run("run", "./cmd/eventgen", "-diff", old, "-root", "headers")
	// go run exits 1 whatever the status of the program and reports it
	// last on standard error.
	if code != 0 {
		before, status, ok := strings.Cut(out, "exit status ")
		if !ok {
			m.t.Fatalf("go run ./cmd/eventgen -diff: exit %d without the program's status:\n%s", code, out)
		}
		n, err := strconv.Atoi(strings.TrimSpace(status))
		if err != nil {
			m.t.Fatalf("go run ./cmd/eventgen -diff: status %q", status)
		}
		out, code = before, n
	}
	return out, code
}

// saveHeaders copies the copy's headers/ to another temporary directory,
// the old tree of -diff.
func (m *modCopy) saveHeaders() string {
	m.t.Helper()
	dst := filepath.Join(m.t.TempDir(), "headers")
	copyTreeTo(m.t, m.path("headers"), dst, nil)
	return dst
}

// probeProgram is written into the module copy regenerated with BLOCK_EXTRA
// (TestGoGenerateNewEvent) as internal/probe/main.go: it records one
// BLOCK_EXTRA event with the payload given in hex into a fresh ring of the
// new schema, opens the ring with execevents.Open, reads the event back
// with execevents.ReadEvent and prints what the test checks. A ring with
// the hash given as second argument (the schema before the edit) must be
// refused.
const probeProgram = `// Command probe is written by gen's TestGoGenerateNewEvent into a
// regenerated copy of the module; it is not part of the module.
package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

func main() {
	payload, err := hex.DecodeString(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var oldHash [32]byte
	if n, err := hex.Decode(oldHash[:], []byte(os.Args[2])); err != nil || n != 32 {
		log.Fatalf("old hash %q: %v", os.Args[2], err)
	}
	dir, err := os.MkdirTemp("", "probe-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sizes := eventring.Sizes{DescriptorCapacity: eventring.MinDescriptorCapacity, PayloadBufSize: eventring.MinPayloadBufSize}

	path := filepath.Join(dir, "ring")
	clock := eventring.RecorderOptions{Clock: func() uint64 { return 1767225600000000042 }}
	w, err := eventring.CreateWithOptions(path, sizes, execevents.RingContentType, execevents.SchemaHash, clock)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Record(uint16(execevents.EventTypeBlockExtra), [4]uint64{3, 5}, payload); err != nil {
		log.Fatal(err)
	}
	ring, err := execevents.Open(path) // the schema check
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	if r := rd.TryNext(&d); r != eventring.Ready {
		log.Fatalf("TryNext: %v", r)
	}
	ev, err := execevents.ReadEvent(ring, &d)
	if err != nil {
		log.Fatal(err)
	}
	e, ok := ev.(*execevents.BlockExtraEvent)
	if !ok {
		log.Fatalf("ReadEvent returned a %T", ev)
	}

	var x execevents.BlockExtra
	fmt.Printf("layout size=%d align=%d kind=%d gas=%d digest=%d flags=%d\n", unsafe.Sizeof(x), unsafe.Alignof(x),
		unsafe.Offsetof(x.Kind), unsafe.Offsetof(x.Gas), unsafe.Offsetof(x.Digest), unsafe.Offsetof(x.Flags))
	info := execevents.Events[execevents.EventTypeBlockExtra]
	fmt.Printf("table code=%d name=%s size=%d description=%q count=%d\n", uint16(execevents.EventTypeBlockExtra),
		execevents.EventTypeBlockExtra, info.Size, info.Description, execevents.EventTypeCount)
	fmt.Printf("hash %x\n", execevents.SchemaHash)
	fmt.Printf("event %T kind=%d gas=%d digest=%s flags=%d payloadSize=%d\n", e, e.Kind, e.Gas, e.Digest, e.Flags, e.PayloadSize())
	fmt.Printf("json %s\n", ev.AppendJSON(nil))

	old := filepath.Join(dir, "old")
	w2, err := eventring.Create(old, sizes, execevents.RingContentType, oldHash)
	if err != nil {
		log.Fatal(err)
	}
	defer w2.Close()
	_, err = execevents.Open(old)
	fmt.Printf("old schema refused=%t\n", errors.Is(err, eventring.ErrSchemaMismatch))
}
`

// TestGoGenerateNewEvent: in a copy of the module, headers/ gains an event
// type with a payload struct of its own and a new schema hash (editAddEvent,
// BLOCK_EXTRA, code 25, its struct given padding here); go generate ./...
// then leaves a module that builds whole (blocks, ethconv and cmd do not
// name the new event) and whose execevents vets and reads an event of the
// new type into its own typed event, with the fields at the offsets of the
// C declaration and the expected JSON. eventgen -diff names the added
// event, and a second go generate changes nothing.
func TestGoGenerateNewEvent(t *testing.T) {
	m := newModCopy(t)
	orig := m.saveHeaders()
	for _, e := range editAddEvent {
		edit(t, m.path("headers/"+e.file), e.old, e.new)
	}
	// Padding in the new struct, so that offsets are not just the sums of
	// the sizes.
	edit(t, m.path("headers/"+ctypes), "struct monad_exec_block_extra\n{\n    uint64_t gas;\n    monad_c_bytes32 digest;\n};",
		"struct monad_exec_block_extra\n{\n    uint8_t kind;\n    uint64_t gas;\n    monad_c_bytes32 digest;\n    uint16_t flags;\n};")

	m.generate()
	m.mustGo("build", "./...")
	m.mustGo("vet", "./execevents/")

	// The C layout of struct monad_exec_block_extra on LP64: kind at 0,
	// 7 bytes of padding, gas at 8 (8-aligned), digest at 16 (32 bytes,
	// align 1), flags at 48 (2-aligned), then 6 bytes of padding to 56, a
	// multiple of the struct's alignment 8.
	const offKind, offGas, offDigest, offFlags, size = 0, 8, 16, 48, 56
	const kind, gas, flags = 7, uint64(0x0102030405060708), 0xbeef
	payload := bytes.Repeat([]byte{0xee}, size) // padding bytes must be ignored
	payload[offKind] = kind
	binary.NativeEndian.PutUint64(payload[offGas:], gas)
	var digest [32]byte
	for i := range digest {
		digest[i] = byte(i + 1)
	}
	copy(payload[offDigest:], digest[:])
	binary.NativeEndian.PutUint16(payload[offFlags:], flags)
	oldHash := headersHash
	newHash := "8a" + oldHash[2:] // editAddEvent's hash

	if err := os.MkdirAll(m.path("internal/probe"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.path("internal/probe/main.go"), []byte(probeProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	got := m.mustGo("run", "./internal/probe", hex.EncodeToString(payload), oldHash)
	digestHex := "0x" + hex.EncodeToString(digest[:])
	want := fmt.Sprintf("layout size=%d align=8 kind=%d gas=%d digest=%d flags=%d\n", size, offKind, offGas, offDigest, offFlags) +
		fmt.Sprintf("table code=25 name=BLOCK_EXTRA size=%d description=\"something new\" count=26\n", size) +
		"hash " + newHash + "\n" +
		fmt.Sprintf("event *execevents.BlockExtraEvent kind=%d gas=%d digest=%s flags=%d payloadSize=%d\n", kind, gas, digestHex, flags, size) +
		// Flow tags {3, 5}: block seqno 3, transaction index 4.
		`json {"seqno":1,"eventType":"BLOCK_EXTRA","eventCode":25,"recordEpochNanos":1767225600000000042,"blockSeqno":3,"txnIndex":4,` +
		fmt.Sprintf(`"payload":{"kind":%d,"gas":%d,"digest":"%s","flags":%d}}`, kind, gas, digestHex, flags) + "\n" +
		"old schema refused=true\n"
	if got != want {
		t.Errorf("probe output:\n%s\nwant:\n%s", got, want)
	}

	out, code := m.diff(orig)
	for _, line := range []string{
		"schema hash: 0x" + oldHash + " -> 0x" + newHash,
		fmt.Sprintf("event 25 BLOCK_EXTRA: added (payload monad_exec_block_extra, %d bytes)", size),
		fmt.Sprintf("struct monad_exec_block_extra: added (%d bytes, align 8)", size),
		"constant MONAD_EXEC_EVENT_COUNT: 25 -> 26",
	} {
		if code != 1 || !hasLine(out, line) {
			t.Errorf("eventgen -diff ORIGINAL -root headers: exit %d, output\n%s\nwant 1 and the line %q", code, out, line)
		}
	}
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	l := strings.SplitAfter(s, "\n")
	return strings.Join(l[:min(n, len(l))], "")
}

// hasLine reports whether line is one of the lines of out.
func hasLine(out, line string) bool { return slices.Contains(strings.Split(out, "\n"), line) }

// cut removes from the file at path the text from the first occurrence of
// from up to the next occurrence of to (which stays).
func cut(t *testing.T, path, from, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, from)
	j := strings.Index(s[max(i, 0):], to)
	if i < 0 || j < 0 {
		t.Fatalf("%s does not contain %q followed by %q", path, from, to)
	}
	if err := os.WriteFile(path, []byte(s[:i]+s[i+j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

// earlierSchema edits the header tree at root into a plausible schema of an
// earlier daemon (not a real one: its hash is made up): 22 event types,
// without the account and storage access events, a single TXN_START event
// where TXN_HEADER_START is now, and a 392-byte BLOCK_START without
// proposal_epoch_nanos, author and monad_block_input.
func earlierSchema(t *testing.T, root string) {
	t.Helper()
	h, c := filepath.Join(root, ctypes), filepath.Join(root, metaC)
	// The event codes: TXN_HEADER_START becomes TXN_START, the three
	// access events go, EVM_ERROR becomes 21.
	edit(t, h, "    MONAD_EXEC_TXN_HEADER_START,\n", "    MONAD_EXEC_TXN_START,\n")
	edit(t, h, "    MONAD_EXEC_ACCOUNT_ACCESS_LIST_HEADER,\n    MONAD_EXEC_ACCOUNT_ACCESS,\n    MONAD_EXEC_STORAGE_ACCESS,\n", "")
	cut(t, h, "// The scope a list of state accesses belongs to.\n", "// Identity of a consensus proposal.")
	// BLOCK_START: block_tag 0..40, round 40, epoch 48, chain_id 56,
	// parent_eth_hash 88, eth_block_input 120..392 (272 bytes); every
	// member 8-aligned at most, so 392 bytes, align 8.
	edit(t, h, "    uint64_t epoch;\n    __uint128_t proposal_epoch_nanos; // 16-byte aligned\n    monad_c_uint256_ne chain_id;\n    struct monad_c_secp256k1_pubkey author;\n    monad_c_bytes32 parent_eth_hash;\n    struct monad_c_eth_block_input eth_block_input;\n    struct monad_c_native_block_input monad_block_input;\n",
		"    uint64_t epoch;\n    monad_c_uint256_ne chain_id;\n    monad_c_bytes32 parent_eth_hash;\n    struct monad_c_eth_block_input eth_block_input;\n")
	edit(t, h, "// TXN_HEADER_START: first event of a transaction; calldata and blob\n// versioned hashes trail it.\nstruct monad_exec_txn_header_start\n",
		"// TXN_START: a transaction starts.\nstruct monad_exec_txn_start\n")
	cut(t, h, "// ACCOUNT_ACCESS_LIST_HEADER: ", "// EVM_ERROR: ")
	edit(t, h, "static_assert(sizeof(struct monad_exec_block_start) == 528);\nstatic_assert(alignof(struct monad_exec_block_start) == 16);\nstatic_assert(sizeof(struct monad_exec_storage_access) == 124);\n",
		"static_assert(sizeof(struct monad_exec_block_start) == 392);\nstatic_assert(alignof(struct monad_exec_block_start) == 8);\n")

	edit(t, c, "    [MONAD_EXEC_TXN_HEADER_START] =\n        {.event_type = MONAD_EXEC_TXN_HEADER_START,\n         .c_name = \"TXN_HEADER_START\",\n         .description =\n            \"a transaction starts: hash, sender, fixed \"\n            \"fields, calldata and blob hashes\"},",
		"    [MONAD_EXEC_TXN_START] =\n        {.event_type = MONAD_EXEC_TXN_START,\n         .c_name = \"TXN_START\",\n         .description =\n            \"a transaction starts\"},")
	cut(t, c, "    [MONAD_EXEC_ACCOUNT_ACCESS_LIST_HEADER] =", "    [MONAD_EXEC_EVM_ERROR] =")
	edit(t, c, "    0x89, 0x33,", "    0x22, 0x33,")
}

// demoTests are execevents' examples and tests that read
// testdata/demo.snapshot.zst, recorded under the committed schema: bindings
// of another schema refuse it (execevents.Open's schema check), so they
// cannot pass there.
var demoTests = []string{"ExampleReadEvent", "ExampleDecoder_Read", "TestSnapshotReadPaths", "TestReadOwnership", "TestDecoderReadAllocs"}

// TestGoGenerateEarlierSchema: in a copy of the module, headers/ is edited
// into a plausible earlier daemon schema (earlierSchema); go generate ./...
// regenerates execevents, which builds, vets and passes its tests but those
// reading the demo recording of the committed schema (demoTests, which
// fail on the schema check). The packages above execevents are expected
// not to build: blocks, ethconv and cmd name events and fields of the
// current schema (TXN_HEADER_START, the access events, ...), so go build
// ./blocks/ fails on an undefined identifier in blocks itself, not in
// execevents. eventgen -diff reports the removed events and the new
// BLOCK_START size.
func TestGoGenerateEarlierSchema(t *testing.T) {
	m := newModCopy(t)
	orig := m.saveHeaders()
	earlierSchema(t, m.path("headers"))

	// TXN_START has no trailing-array rule (gen's rules name
	// TXN_HEADER_START): eventgen warns, and its payload decodes as the
	// fixed struct alone.
	if out := m.generate(); !strings.Contains(out, "trailing-array rule for TXN_HEADER_START: no such event") {
		t.Errorf("go generate ./... output:\n%s\nwant the warning that the TXN_HEADER_START rule does not apply", out)
	}
	for _, c := range []struct{ file, re string }{
		{"zevents.go", `(?m)^const EventTypeCount = 22$`},
		{"ztypes.go", `(?m)^\tEventTypeTxnStart +EventType = 10 // MONAD_EXEC_TXN_START$`},
		{"ztypes.go", `(?m)^\tEventTypeEVMError +EventType = 21 // MONAD_EXEC_EVM_ERROR$`},
	} {
		b, err := os.ReadFile(m.path("execevents/" + c.file))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(c.re).Match(b) || bytes.Contains(b, []byte("TxnHeaderStart")) {
			t.Errorf("regenerated execevents/%s: want a match of %s and no TxnHeaderStart", c.file, c.re)
		}
	}
	m.mustGo("build", "./execevents/")
	m.mustGo("vet", "./execevents/")
	skip := "^(" + strings.Join(demoTests, "|") + ")$"
	m.mustGo("test", "-count=1", "-skip", skip, "./execevents/")
	// The tests left out fail on the schema check (the examples, which
	// log.Fatal, by themselves, so that they do not stop the tests).
	for _, names := range [][]string{demoTests[:2], demoTests[2:]} {
		run := "^(" + strings.Join(names, "|") + ")$"
		out, code := m.run("test", "-count=1", "-run", run, "./execevents/")
		if code == 0 || !strings.Contains(out, "demo.snapshot.zst: schema hash "+headersHash+" does not match the compiled-in 2233"+headersHash[4:]+";") {
			t.Errorf("go test -run %s ./execevents/: exit %d, want a failure on the demo recording's schema hash:\n%s", run, code, out)
		}
		for _, name := range names {
			if strings.HasPrefix(name, "Test") && !strings.Contains(out, "--- FAIL: "+name+" ") {
				t.Errorf("go test -run %s ./execevents/: %s did not fail:\n%s", run, name, out)
			}
		}
	}

	out, code := m.run("build", "./blocks/")
	t.Logf("go build ./blocks/ against the earlier schema, as expected:\n%s", firstLines(out, 4))
	undefined := regexp.MustCompile(`(?m)^blocks/\S+\.go:\d+:\d+: undefined: execevents\.\w+`)
	if code == 0 || !strings.HasPrefix(out, "# github.com/monadgo/events/blocks\n") || !undefined.MatchString(out) ||
		strings.Contains(out, "# github.com/monadgo/events/execevents") {
		t.Errorf("go build ./blocks/ against the earlier schema: exit %d, output\n%s\nwant a failure in blocks naming an undefined execevents identifier", code, out)
	}

	out, code = m.diff(orig)
	for _, line := range []string{
		"schema hash: 0x" + headersHash + " -> 0x2233" + headersHash[4:],
		"event 2 BLOCK_START: payload size 528 -> 392",
		"event 21 ACCOUNT_ACCESS_LIST_HEADER: removed",
		"event 22 ACCOUNT_ACCESS: removed",
		"event 23 STORAGE_ACCESS: removed",
		"struct monad_exec_block_start: size 528 -> 392, align 16 -> 8",
		"constant MONAD_EXEC_EVENT_COUNT: 25 -> 22",
	} {
		if code != 1 || !hasLine(out, line) {
			t.Errorf("eventgen -diff ORIGINAL -root headers: exit %d, output\n%s\nwant 1 and the line %q", code, out, line)
		}
	}
	if !strings.Contains(out, "\nevent 10 TXN_START: renamed from TXN_HEADER_START, ") {
		t.Errorf("eventgen -diff does not report TXN_HEADER_START renamed to TXN_START:\n%s", out)
	}
}
