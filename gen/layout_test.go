package gen

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// specLayout is the part of ../shared/spec/exec-layout.json the model is
// checked against: layouts computed by a C compiler from the daemon's own
// headers, an independent source.
type specLayout struct {
	SchemaHash string `json:"schema_hash"`
	EventTypes []struct {
		Value       int64   `json:"value"`
		Name        string  `json:"name"`
		CEnum       string  `json:"c_enum"`
		Payload     *string `json:"payload"`
		PayloadSize int64   `json:"payload_size"`
		Trailing    []struct {
			Name        string `json:"name"`
			LengthField string `json:"length_field"`
			ElementSize int64  `json:"element_size"`
		} `json:"trailing"`
	} `json:"event_types"`
	Structs   map[string]layoutStruct `json:"structs"`
	Enums     map[string]layoutEnum   `json:"enums"`
	Constants struct {
		DefaultExecFileName  string `json:"default_exec_file_name"`
		TruncatedSize        int64  `json:"record_error_truncated_payload_size"`
		RecordErrorEventType int64  `json:"record_error_event_type"`
	} `json:"constants"`
	TestSchema struct {
		SchemaHash string `json:"schema_hash"`
		EventTypes []struct {
			Value   int64   `json:"value"`
			Name    string  `json:"name"`
			Payload *string `json:"payload"`
		} `json:"event_types"`
		Structs map[string]layoutStruct `json:"structs"`
		Enums   map[string]layoutEnum   `json:"enums"`
	} `json:"test_schema"`
}

func loadSpecLayout(t *testing.T) *specLayout {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "spec", "exec-layout.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("spec layout %s not available (%v): the test needs ../shared next to the repository", p, err)
	}
	var l specLayout
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return &l
}

// dumpLayout runs eventgen -dump-layout on the project's headers and
// decodes its output.
func dumpLayout(t *testing.T) *layoutDoc {
	t.Helper()
	var out, errs bytes.Buffer
	if code := Main([]string{"-root", "../headers", "-dump-layout"}, &out, &errs); code != 0 {
		t.Fatalf("eventgen -dump-layout: exit %d: %s", code, errs.String())
	}
	if errs.Len() != 0 {
		t.Errorf("eventgen -dump-layout warned: %s", errs.String())
	}
	var l layoutDoc
	if err := json.Unmarshal(out.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	return &l
}

func compareStructs(t *testing.T, got, want map[string]layoutStruct) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("struct %s: missing from the model", name)
			continue
		}
		if g.Size != w.Size || g.Align != w.Align {
			t.Errorf("struct %s: size %d align %d, C has size %d align %d", name, g.Size, g.Align, w.Size, w.Align)
		}
		if w.Fields == nil {
			w.Fields = []layoutField{}
		}
		if !reflect.DeepEqual(g.Fields, w.Fields) {
			t.Errorf("struct %s fields:\n got  %+v\n want %+v", name, g.Fields, w.Fields)
		}
	}
}

func compareEnums(t *testing.T, got, want map[string]layoutEnum) {
	t.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("enum %s: got %+v, C has %+v", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("enum %s is not in the spec", name)
		}
	}
}

// TestModelMatchesSpecLayout checks every struct, member offset and size,
// enum value, event type and the schema hash of the model built from
// headers/ against exec-layout.json.
func TestModelMatchesSpecLayout(t *testing.T) {
	spec := loadSpecLayout(t)
	l := dumpLayout(t)
	if l.SchemaHash != spec.SchemaHash {
		t.Errorf("schema hash %s, spec %s", l.SchemaHash, spec.SchemaHash)
	}
	compareStructs(t, l.Structs, spec.Structs)
	m, err := buildModel(osDirFS("../headers"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name := range l.Structs {
		// Structs holding pointers (the metadata record, the mapped ring)
		// live in process memory only and are not in the spec.
		if _, ok := spec.Structs[name]; !ok && !hasPointer(m.Structs[name]) {
			t.Errorf("struct %s is not in the spec", name)
		}
	}
	compareEnums(t, l.Enums, spec.Enums)
	if len(l.EventTypes) != len(spec.EventTypes) {
		t.Fatalf("%d event types, spec has %d", len(l.EventTypes), len(spec.EventTypes))
	}
	for i, e := range l.EventTypes {
		if w := spec.EventTypes[i]; e.Value != w.Value || e.Name != w.Name {
			t.Errorf("event type %d: %d %s, spec %d %s", i, e.Value, e.Name, w.Value, w.Name)
		}
	}

	// The richer model: payload types, sizes, trailing arrays, constants.
	for i, e := range m.Events {
		w := spec.EventTypes[i]
		wantPayload := ""
		if w.Payload != nil {
			wantPayload = *w.Payload
		}
		if e.CEnum != w.CEnum || e.Payload != wantPayload || e.Size != w.PayloadSize {
			t.Errorf("event %s: enum %s payload %q size %d, spec %s %q %d", e.Name, e.CEnum, e.Payload, e.Size, w.CEnum, wantPayload, w.PayloadSize)
		}
		if e.Name == "RECORD_ERROR" {
			if !slices.Equal(e.SizeRule, []int64{16, spec.Constants.TruncatedSize}) {
				t.Errorf("RECORD_ERROR sizes %v, want 16 or %d", e.SizeRule, spec.Constants.TruncatedSize)
			}
			continue
		}
		if len(e.Trailing) != len(w.Trailing) {
			t.Errorf("event %s: %d trailing arrays, spec %d", e.Name, len(e.Trailing), len(w.Trailing))
			continue
		}
		for j, a := range e.Trailing {
			wa := w.Trailing[j]
			if a.Name != wa.Name || a.LengthField != wa.LengthField || a.ElemSize != wa.ElementSize {
				t.Errorf("event %s trailing %d: %+v, spec %+v", e.Name, j, a, wa)
			}
		}
	}
	consts := map[string]constant{}
	for _, c := range m.Constants {
		consts[c.Name] = c
	}
	if c := consts["MONAD_EVENT_DEFAULT_EXEC_FILE_NAME"]; c.String != spec.Constants.DefaultExecFileName {
		t.Errorf("default file name %q, spec %q", c.String, spec.Constants.DefaultExecFileName)
	}
	if c := consts["MONAD_EVENT_RECORD_ERROR_EVENT_TYPE"]; c.Value != spec.Constants.RecordErrorEventType {
		t.Errorf("record error event type %d, spec %d", c.Value, spec.Constants.RecordErrorEventType)
	}
	// The daemon's headers define no constant for the truncated RECORD_ERROR
	// payload size (the recorder writes 8192; spec §5.6), so headers/, a
	// transcription, does not either: the size rule above carries it.
	for name := range consts {
		if strings.Contains(name, "TRUNCATED") {
			t.Errorf("headers/ define %s, which the daemon's headers do not", name)
		}
	}
	if c := consts["MONAD_EXEC_EVENT_COUNT"]; c.Value != int64(len(spec.EventTypes)) {
		t.Errorf("MONAD_EXEC_EVENT_COUNT = %d, spec has %d event types", c.Value, len(spec.EventTypes))
	}
	if m.ContentType != "EXEC" {
		t.Errorf("content type %s, want EXEC", m.ContentType)
	}
}

// TestTestSchemaMatchesSpec checks the transcribed TEST schema (spec
// appendix A).
func TestTestSchemaMatchesSpec(t *testing.T) {
	spec := loadSpecLayout(t)
	m, err := buildModel(osDirFS("../headers"), []string{"category/core/event/event_ring.h", "category/core/event/test_event_ctypes.h", "category/core/event/test_event_ctypes_metadata.c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(m.SchemaHash[:]); got != spec.TestSchema.SchemaHash || !m.HasSchemaHash {
		t.Errorf("test schema hash %s, spec %s", got, spec.TestSchema.SchemaHash)
	}
	if m.ContentType != "TEST" {
		t.Errorf("content type %s, want TEST", m.ContentType)
	}
	l := m.layout()
	compareStructs(t, l.Structs, spec.TestSchema.Structs)
	want := spec.TestSchema.Enums
	if g := l.Enums["monad_test_event"]; !reflect.DeepEqual(g, want["monad_test_event"]) {
		t.Errorf("enum monad_test_event: %+v, spec %+v", g, want["monad_test_event"])
	}
	if len(m.Events) != len(spec.TestSchema.EventTypes) {
		t.Fatalf("%d test events, spec %d", len(m.Events), len(spec.TestSchema.EventTypes))
	}
	for i, e := range m.Events {
		w := spec.TestSchema.EventTypes[i]
		wp := ""
		if w.Payload != nil {
			wp = *w.Payload
		}
		if e.Value != w.Value || e.Name != w.Name || e.Payload != wp {
			t.Errorf("test event %d: %d %s %q, spec %d %s %q", i, e.Value, e.Name, e.Payload, w.Value, w.Name, wp)
		}
	}
}

func hasPointer(s *cStruct) bool {
	for _, f := range s.Fields {
		if f.Type.Kind == kindPointer {
			return true
		}
	}
	return false
}
