package gen

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// specSchema is the part of exec-layout.json a header tree can be written
// from: the shapes a C compiler found in the daemon's own headers.
type specSchema struct {
	SchemaHash       string `json:"schema_hash"`
	SchemaHashSymbol string `json:"schema_hash_symbol"`
	EventTypes       []struct {
		Value int64  `json:"value"`
		Name  string `json:"name"`
		CEnum string `json:"c_enum"`
	} `json:"event_types"`
	Structs map[string]struct {
		Size       int64  `json:"size"`
		Align      int64  `json:"align"`
		TypedefOf  string `json:"typedef_of"`
		DeclaredAs string `json:"declared_as"`
		Fields     []struct {
			Name    string `json:"name"`
			CType   string `json:"c_type"`
			Alignas int64  `json:"alignas"`
		} `json:"fields"`
	} `json:"structs"`
	Enums map[string]struct {
		Underlying string           `json:"underlying"`
		Values     map[string]int64 `json:"values"`
	} `json:"enums"`
	Constants struct {
		DefaultExecFileName  string `json:"default_exec_file_name"`
		RecordErrorEventType int64  `json:"record_error_event_type"`
		MinDescriptorsShift  int64  `json:"min_descriptors_shift"`
		MaxDescriptorsShift  int64  `json:"max_descriptors_shift"`
		WindowIncr           int64  `json:"window_incr"`
	} `json:"constants"`
}

// specTree writes, from exec-layout.json alone, a header tree of the
// daemon's schema under the daemon's paths, spelled unlike headers/: every
// declaration in the three entry files, enumerators with explicit values,
// typedefs spelled as the spec records them, no comments, descriptions of
// its own, and the ring library's limits as macros that headers/ lacks.
func specTree(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "spec", "exec-layout.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("spec layout %s not available (%v): the test needs ../shared next to the repository", p, err)
	}
	var s specSchema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}

	enumDecl := func(w *strings.Builder, name string) {
		e := s.Enums[name]
		fmt.Fprintf(w, "enum %s : %s\n{\n", name, e.Underlying)
		names := sortedKeys(e.Values)
		slices.SortStableFunc(names, func(a, b string) int { return int(e.Values[a] - e.Values[b]) })
		for _, v := range names {
			fmt.Fprintf(w, "    %s = %d,\n", v, e.Values[v])
		}
		w.WriteString("};\n\n")
	}
	arrayType := regexp.MustCompile(`^(.*)\[(\d+)\]$`)
	// Structs in dependency order: a struct after those its members and
	// typedef name.
	var order []string
	done := map[string]bool{}
	var visit func(string)
	deps := regexp.MustCompile(`\bmonad_\w+`)
	visit = func(name string) {
		st, ok := s.Structs[name]
		if done[name] || !ok {
			return
		}
		done[name] = true
		for _, d := range deps.FindAllString(st.TypedefOf, -1) {
			visit(d)
		}
		for _, f := range st.Fields {
			for _, d := range deps.FindAllString(f.CType, -1) {
				visit(d)
			}
		}
		order = append(order, name)
	}
	for _, name := range sortedKeys(s.Structs) {
		visit(name)
	}
	structDecl := func(w *strings.Builder, name string) {
		st := s.Structs[name]
		if st.TypedefOf != "" {
			fmt.Fprintf(w, "typedef %s %s;\n\n", st.TypedefOf, name)
			return
		}
		typedef := st.DeclaredAs == name
		if typedef {
			w.WriteString("typedef ")
		}
		fmt.Fprintf(w, "struct %s\n{\n", name)
		for _, f := range st.Fields {
			w.WriteString("    ")
			if f.Alignas != 0 {
				fmt.Fprintf(w, "alignas(%d) ", f.Alignas)
			}
			if m := arrayType.FindStringSubmatch(f.CType); m != nil {
				fmt.Fprintf(w, "%s %s[%s];\n", m[1], f.Name, m[2])
			} else {
				fmt.Fprintf(w, "%s %s;\n", f.CType, f.Name)
			}
		}
		w.WriteString("}")
		if typedef {
			w.WriteString(" " + name)
		}
		fmt.Fprintf(w, ";\n\nstatic_assert(sizeof(%s%s) == %d);\nstatic_assert(alignof(%s%s) == %d);\n\n",
			map[bool]string{false: "struct "}[typedef], name, st.Size, map[bool]string{false: "struct "}[typedef], name, st.Align)
	}
	isRing := func(name string) bool { return strings.HasPrefix(name, "monad_event_") }

	var ring strings.Builder
	ring.WriteString("#pragma once\n\n#include <stddef.h>\n#include <stdint.h>\n\n")
	for _, name := range sortedKeys(s.Enums) {
		if isRing(name) {
			enumDecl(&ring, name)
		}
	}
	for _, name := range order {
		if isRing(name) {
			structDecl(&ring, name)
		}
	}
	fmt.Fprintf(&ring, "constexpr uint16_t MONAD_EVENT_RECORD_ERROR_EVENT_TYPE = %d;\n", s.Constants.RecordErrorEventType)
	// Limits of the ring library (names of this test's choosing): ring-level
	// constants, not part of the bindings' schema.
	fmt.Fprintf(&ring, "#define MONAD_EVENT_MIN_DESCRIPTORS_SHIFT %d\n#define MONAD_EVENT_MAX_DESCRIPTORS_SHIFT %d\n#define MONAD_EVENT_WINDOW_INCR %dUL\n",
		s.Constants.MinDescriptorsShift, s.Constants.MaxDescriptorsShift, s.Constants.WindowIncr)

	var ct strings.Builder
	ct.WriteString("#pragma once\n\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n#include <category/core/event/event_ring.h>\n\n")
	ct.WriteString("struct monad_event_metadata\n{\n    uint16_t event_type;\n    char const *c_name;\n    char const *description;\n};\n\n")
	for _, name := range sortedKeys(s.Enums) {
		if !isRing(name) {
			enumDecl(&ct, name)
		}
	}
	for _, name := range order {
		if !isRing(name) {
			structDecl(&ct, name)
		}
	}
	fmt.Fprintf(&ct, "#define MONAD_EXEC_EVENT_COUNT %d\n\n", len(s.EventTypes))
	fmt.Fprintf(&ct, "extern struct monad_event_metadata const g_monad_exec_event_metadata[MONAD_EXEC_EVENT_COUNT];\n")
	fmt.Fprintf(&ct, "extern uint8_t const %s[32];\n\n", s.SchemaHashSymbol)
	fmt.Fprintf(&ct, "#define MONAD_EVENT_DEFAULT_EXEC_FILE_NAME %q\n", s.Constants.DefaultExecFileName)

	var meta strings.Builder
	meta.WriteString("#include <stdint.h>\n\n#include <category/execution/ethereum/event/exec_event_ctypes.h>\n\n")
	meta.WriteString("struct monad_event_metadata const g_monad_exec_event_metadata[MONAD_EXEC_EVENT_COUNT] = {\n")
	for _, e := range s.EventTypes {
		// Positional initializers, descriptions not ours.
		fmt.Fprintf(&meta, "    {%s, %q, %q},\n", e.CEnum, e.Name, "spec event "+strings.ToLower(e.Name))
	}
	meta.WriteString("};\n\n")
	hash, err := hex.DecodeString(s.SchemaHash)
	if err != nil || len(hash) != 32 {
		t.Fatalf("schema hash %q", s.SchemaHash)
	}
	fmt.Fprintf(&meta, "uint8_t const %s[32] = {", s.SchemaHashSymbol)
	for _, x := range hash {
		fmt.Fprintf(&meta, "0x%02x, ", x)
	}
	meta.WriteString("};\n")

	root := filepath.Join(t.TempDir(), "spec-headers")
	for p, text := range map[string]string{ringH: ring.String(), ctypes: ct.String(), metaC: meta.String()} {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestDiffSpecTree compares a header tree written from exec-layout.json
// (the daemon's schema, spelled differently and described in other words)
// with headers/, which TestModelMatchesSpecLayout checks against the same
// file: -diff must find no schema change, only descriptions.
func TestDiffSpecTree(t *testing.T) {
	root := specTree(t)
	code, stdout, stderr := eventgen("-diff", "../headers", "-root", root)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || lines[len(lines)-1] != "no schema change (only descriptions differ)" || stderr != "" {
		t.Fatalf("eventgen -diff headers -root SPECTREE: exit %d, stderr %q, output:\n%s", code, stderr, stdout)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.Contains(l, ": description ") {
			t.Errorf("not a description change: %s", l)
		}
	}
	if len(lines)-1 != 25 {
		t.Errorf("%d description changes, want one per event (25)", len(lines)-1)
	}
	// The other way round, the same.
	if code, stdout, _ := eventgen("-diff", root, "-root", "../headers"); code != 0 || !strings.HasSuffix(stdout, "\nno schema change (only descriptions differ)\n") {
		t.Errorf("eventgen -diff SPECTREE -root headers: exit %d:\n%s", code, stdout)
	}
	// And the tree is a schema: a changed layout shows.
	edit(t, filepath.Join(root, ctypes), "uint64_t round;", "uint32_t round;")
	if code, stdout, _ := eventgen("-diff", "../headers", "-root", root); code != 1 || !strings.Contains(stdout, "struct monad_exec_block_qc.round: type uint64_t -> uint32_t, size 8 -> 4\n") {
		t.Errorf("after changing the spec tree's BLOCK_QC round: exit %d:\n%s", code, stdout)
	}
}
