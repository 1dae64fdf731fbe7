package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Paths of the header files the -diff tests edit, under a tree's root.
const (
	ringH  = "category/core/event/event_ring.h"
	ctypes = "category/execution/ethereum/event/exec_event_ctypes.h"
	metaC  = "category/execution/ethereum/event/exec_event_ctypes_metadata.c"
)

// Edits of a copy of headers/, each a schema change or not.
type headerEdit struct{ file, old, new string }

var (
	// The type of a member: uint64_t round -> uint32_t round, same offsets.
	editFieldType = headerEdit{ctypes, "    struct monad_exec_block_tag block_tag;\n    uint64_t round;\n    uint64_t epoch;\n};",
		"    struct monad_exec_block_tag block_tag;\n    uint32_t round;\n    uint64_t epoch;\n};"}
	// An event type with a payload struct of its own, and a new hash.
	editAddEvent = []headerEdit{
		{ctypes, "    MONAD_EXEC_EVM_ERROR,\n};", "    MONAD_EXEC_EVM_ERROR,\n    MONAD_EXEC_BLOCK_EXTRA,\n};"},
		{ctypes, "MONAD_EXEC_EVENT_COUNT = MONAD_EXEC_EVM_ERROR + 1;", "MONAD_EXEC_EVENT_COUNT = MONAD_EXEC_BLOCK_EXTRA + 1;"},
		{ctypes, "// BLOCK_VERIFIED:", "struct monad_exec_block_extra\n{\n    uint64_t gas;\n    monad_c_bytes32 digest;\n};\n\n// BLOCK_VERIFIED:"},
		{metaC, "            \"categories\"},\n", "            \"categories\"},\n\n    [MONAD_EXEC_BLOCK_EXTRA] =\n        {.event_type = MONAD_EXEC_BLOCK_EXTRA,\n         .c_name = \"BLOCK_EXTRA\",\n         .description = \"something new\"},\n"},
		{metaC, "    0x89, 0x33,", "    0x8a, 0x33,"},
	}
	editDescription = headerEdit{metaC, `"one call trace frame"`, "\"one call trace \"\n            \"frame (edited)\""}
	editEnumValue   = headerEdit{ctypes, "    MONAD_ACCT_ACCESS_BLOCK_EPILOGUE,", "    MONAD_ACCT_ACCESS_BLOCK_EPILOGUE = 7,"}
	editNoConstant  = headerEdit{ringH, "constexpr uint16_t MONAD_EVENT_RECORD_ERROR_EVENT_TYPE = 1;", ""}
	editRename      = headerEdit{metaC, `.c_name = "TXN_END",`, `.c_name = "TXN_FINISH",`}
	editAddField    = headerEdit{ctypes, "    uint64_t block_number;\n};\n\n// TXN_HEADER_START", "    uint64_t block_number;\n    uint32_t extra;\n};\n\n// TXN_HEADER_START"}
	// Changes that are not schema: comments, the spelling of a type of the
	// same layout, a limit of the ring library in event_ring.h, a struct
	// no payload uses.
	editsNoSchema = []headerEdit{
		{ctypes, "// Identity of a consensus proposal.", "// Identity of a consensus proposal (reworded)."},
		{ctypes, "    uint64_t block_number; // number the block gets if finalized", "    unsigned long long block_number;"},
		{ringH, "// Every schema reserves", "constexpr uint8_t MONAD_EVENT_MIN_DESCRIPTORS_SHIFT = 16;\n\n// Every schema reserves"},
		{ctypes, "// BLOCK_VERIFIED:", "struct monad_exec_unused { char const *p; };\n\n// BLOCK_VERIFIED:"},
	}
)

// editedTree returns a copy of headers/ with the edits made.
func editedTree(t *testing.T, edits ...headerEdit) string {
	t.Helper()
	root := copyTree(t, "../headers")
	for _, e := range edits {
		edit(t, filepath.Join(root, e.file), e.old, e.new)
	}
	return root
}

// TestDiff runs eventgen -diff headers -root EDITED for each kind of
// change and checks the whole report and the exit status.
func TestDiff(t *testing.T) {
	for _, c := range []struct {
		name  string
		edits []headerEdit
		code  int
		want  string // stdout
	}{
		{"identical", nil, 0, "no schema change\n"},
		{"not schema", editsNoSchema, 0, "no schema change\n"},
		{"description", []headerEdit{editDescription}, 0,
			`event 19 TXN_CALL_FRAME: description "one call trace frame" -> "one call trace frame (edited)"` + "\n" +
				"no schema change (only descriptions differ)\n"},
		{"field type", []headerEdit{editFieldType}, 1,
			"struct monad_exec_block_qc.round: type uint64_t -> uint32_t, size 8 -> 4\n" +
				"1 schema change\n"},
		{"added event", editAddEvent, 1,
			"schema hash: 0x8933f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3 -> 0x8a33f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3\n" +
				"event 25 BLOCK_EXTRA: added (payload monad_exec_block_extra, 40 bytes)\n" +
				"struct monad_exec_block_extra: added (40 bytes, align 8)\n" +
				"constant MONAD_EXEC_EVENT_COUNT: 25 -> 26\n" +
				"4 schema changes\n"},
		{"enum value", []headerEdit{editEnumValue}, 1,
			"enum monad_exec_account_access_context.MONAD_ACCT_ACCESS_BLOCK_EPILOGUE: 2 -> 7\n" +
				"1 schema change\n"},
		{"removed constant", []headerEdit{editNoConstant}, 1,
			"constant MONAD_EVENT_RECORD_ERROR_EVENT_TYPE: removed (was 1)\n" +
				"1 schema change\n"},
		{"renamed event", []headerEdit{editRename}, 1,
			"event 20 TXN_FINISH: renamed from TXN_END\n" +
				"1 schema change\n"},
		{"added field", []headerEdit{editAddField}, 1,
			"event 9 BLOCK_VERIFIED: payload size 8 -> 16\n" +
				"struct monad_exec_block_verified: size 8 -> 16\n" +
				"struct monad_exec_block_verified.extra: added (uint32_t at offset 8, 4 bytes)\n" +
				"3 schema changes\n"},
		{"all at once", append(append([]headerEdit{editDescription, editFieldType, editEnumValue, editNoConstant, editRename, editAddField}, editAddEvent...), editsNoSchema...), 1,
			"schema hash: 0x8933f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3 -> 0x8a33f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3\n" +
				"event 9 BLOCK_VERIFIED: payload size 8 -> 16\n" +
				"event 20 TXN_FINISH: renamed from TXN_END\n" +
				"event 25 BLOCK_EXTRA: added (payload monad_exec_block_extra, 40 bytes)\n" +
				"struct monad_exec_block_extra: added (40 bytes, align 8)\n" +
				"struct monad_exec_block_qc.round: type uint64_t -> uint32_t, size 8 -> 4\n" +
				"struct monad_exec_block_verified: size 8 -> 16\n" +
				"struct monad_exec_block_verified.extra: added (uint32_t at offset 8, 4 bytes)\n" +
				"enum monad_exec_account_access_context.MONAD_ACCT_ACCESS_BLOCK_EPILOGUE: 2 -> 7\n" +
				"constant MONAD_EVENT_RECORD_ERROR_EVENT_TYPE: removed (was 1)\n" +
				"constant MONAD_EXEC_EVENT_COUNT: 25 -> 26\n" +
				`event 19 TXN_CALL_FRAME: description "one call trace frame" -> "one call trace frame (edited)"` + "\n" +
				"11 schema changes, and 1 description change\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := editedTree(t, c.edits...)
			code, stdout, stderr := eventgen("-diff", "../headers", "-root", root)
			if code != c.code || stdout != c.want {
				t.Errorf("eventgen -diff ../headers -root EDITED: exit %d, want %d; output:\n%s\nwant:\n%s", code, c.code, stdout, c.want)
			}
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}

// TestDiffDirection checks -diff's direction (old first) and the removal
// of a constant the bindings rely on, which buildModel warns about.
func TestDiffDirection(t *testing.T) {
	root := editedTree(t, editAddEvent...)
	code, stdout, _ := eventgen("-diff", root, "-root", "../headers")
	for _, want := range []string{"\nevent 25 BLOCK_EXTRA: removed\n", "\nstruct monad_exec_block_extra: removed\n", "\nconstant MONAD_EXEC_EVENT_COUNT: 26 -> 25\n"} {
		if code != 1 || !strings.Contains(stdout, want) {
			t.Errorf("-diff EDITED -root headers: exit %d, output\n%s\nwant 1 and %q", code, stdout, strings.TrimSpace(want))
		}
	}

	root = editedTree(t, headerEdit{ctypes, `static constexpr char MONAD_EVENT_DEFAULT_EXEC_FILE_NAME[] = "monad-exec-events";`, ""})
	code, stdout, stderr := eventgen("-diff", "../headers", "-root", root)
	if want := "constant MONAD_EVENT_DEFAULT_EXEC_FILE_NAME: removed (was \"monad-exec-events\")\n1 schema change\n"; code != 1 || stdout != want {
		t.Errorf("-diff after removing the file name constant: exit %d, output\n%s\nwant 1 and\n%s", code, stdout, want)
	}
	if !strings.Contains(stderr, "warning: "+root+": constant MONAD_EVENT_DEFAULT_EXEC_FILE_NAME is not defined") {
		t.Errorf("stderr %q: want buildModel's warning naming the tree", stderr)
	}

	// Without -root, the new tree is headers/: from the module root, a
	// tree is compared with what the committed bindings are made from.
	t.Chdir("..")
	if code, stdout, stderr := eventgen("-diff", "headers"); code != 0 || stdout != "no schema change\n" {
		t.Errorf("eventgen -diff headers: exit %d, %q, %q", code, stdout, stderr)
	}
}

// TestDiffTrailing renames the member a trailing-array rule counts with:
// the rule no longer applies (buildModel warns), and -diff says so.
func TestDiffTrailing(t *testing.T) {
	root := editedTree(t, headerEdit{"category/execution/ethereum/core/eth_ctypes.h", "    uint32_t data_length;    // data bytes after the topics", "    uint32_t data_len;"})
	code, stdout, stderr := eventgen("-diff", "../headers", "-root", root)
	want := "event 18 TXN_LOG: trailing arrays topics[topic_count]x32 data[data_length]x1 -> none\n" +
		"struct monad_c_eth_txn_log.data_len: added (uint32_t at offset 28, 4 bytes)\n" +
		"struct monad_c_eth_txn_log.data_length: removed\n" +
		"3 schema changes\n"
	if code != 1 || stdout != want {
		t.Errorf("exit %d, output:\n%s\nwant 1 and:\n%s", code, stdout, want)
	}
	if !strings.Contains(stderr, "trailing-array rule for TXN_LOG") {
		t.Errorf("stderr %q: want the trailing-array warning", stderr)
	}
}

// TestREADMEDiffSample keeps the README's sample of -diff output honest: it
// is the report for a tree with a changed member type, an added event and
// a reworded description.
func TestREADMEDiffSample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "    go run ./cmd/eventgen -diff headers -root /path/to/monad"
	_, after, ok := strings.Cut(string(readme), cmd)
	if !ok {
		t.Fatalf("README lacks %q", strings.TrimSpace(cmd))
	}
	// The indented block after the next paragraph.
	_, after, _ = strings.Cut(after, ":\n\n")
	sample, _, _ := strings.Cut(after, "\n\n")
	var want strings.Builder
	for _, l := range strings.Split(sample, "\n") {
		want.WriteString(strings.TrimPrefix(l, "    ") + "\n")
	}
	edits := append([]headerEdit{editFieldType,
		{metaC, `"one call trace frame"`, `"one call trace frame, with its input and return data"`}}, editAddEvent...)
	root := editedTree(t, edits...)
	code, stdout, _ := eventgen("-diff", "../headers", "-root", root)
	if code != 1 || stdout != want.String() {
		t.Errorf("README sample:\n%s\neventgen -diff output (exit %d):\n%s", want.String(), code, stdout)
	}
}
