package gen

import (
	"bytes"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden")

// synthRules are the trailing-array rules of the synthetic schema; two of
// them name things the headers lack and must only warn. ATTRS has a size
// rule and takes the rest of the payload, as RECORD_ERROR does.
var synthRules = []trailingRule{
	{Event: "ATTRS", Sizes: []int64{32, 48}, Arrays: []trailingArray{{Name: "tail", ElemSize: 1, Remainder: true}}},
	{Event: "BLOB", Arrays: []trailingArray{
		{Name: "data", LengthField: "len", ElemSize: 1},
		{Name: "keys", LengthField: "key_count", ElemSize: 32},
	}},
	{Event: "PACKED", Arrays: []trailingArray{{Name: "x", LengthField: "value", ElemSize: 1}}},
	{Event: "GONE", Arrays: []trailingArray{{Name: "x", LengthField: "n", ElemSize: 1}}},
	{Event: "TAGGED", Arrays: []trailingArray{{Name: "x", LengthField: "no_such_field", ElemSize: 1}}},
}

func buildSynth(t *testing.T) *model {
	t.Helper()
	m, err := buildModel(osDirFS("testdata/synth"), []string{"synth.h", "synth_metadata.c"}, synthRules)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func field(t *testing.T, s *cStruct, name string) cField {
	t.Helper()
	i := slices.IndexFunc(s.Fields, func(f cField) bool { return f.Name == name })
	if i < 0 {
		t.Fatalf("%s has no member %s", s.Name, name)
	}
	return s.Fields[i]
}

// TestSynthModel checks the model of the synthetic schema against layouts
// worked out by hand with the x86-64 SysV (gcc/clang) rules.
func TestSynthModel(t *testing.T) {
	m := buildSynth(t)

	var names []string
	for _, e := range m.Events {
		names = append(names, e.Name+":"+e.Payload)
	}
	if got, want := strings.Join(names, " "), "NONE: PING:synth_ping BIG:synth_big TAGGED:synth_tagged BLOB:synth_blob EMPTY: ATTRS:synth_attrs PACKED:synth_packed DIGEST:synth_digest"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	if got := m.Events[2].Description; got != "every construct" {
		t.Errorf("concatenated description %q", got)
	}
	if got := m.Events[1].Description; got != "a scalar payload" {
		t.Errorf("concatenated description %q", got)
	}
	// ATTRS and PACKED use positional member initializers (PACKED without
	// an array designator either).
	if e := m.Events[6]; e.Name != "ATTRS" || e.Description != "alignment attributes" || e.Value != 6 {
		t.Errorf("positional metadata element: %+v", e)
	}
	if e := m.Events[7]; e.Name != "PACKED" || e.Description != "a packed payload" || e.Value != 7 {
		t.Errorf("positional metadata element: %+v", e)
	}
	if len(m.Warnings) != 3 || !strings.Contains(m.Warnings[0], "synth_packed.value is unaligned") || !strings.Contains(m.Warnings[1], "GONE") || !strings.Contains(m.Warnings[2], "no_such_field") {
		t.Errorf("warnings %q, want one for PACKED's unaligned count, one for GONE and one for no_such_field", m.Warnings)
	}
	if len(m.Events[7].Trailing) != 0 {
		t.Errorf("PACKED got trailing arrays counted by an unaligned member")
	}
	if blob := m.Events[4]; len(blob.Trailing) != 2 || blob.Size != 16 {
		t.Errorf("BLOB: %d trailing arrays, size %d", len(blob.Trailing), blob.Size)
	}
	if len(m.Events[3].Trailing) != 0 {
		t.Errorf("TAGGED got trailing arrays from a rule naming a missing field")
	}
	if a := m.Events[6]; len(a.Trailing) != 1 || !slices.Equal(a.SizeRule, []int64{32, 48}) {
		t.Errorf("ATTRS: trailing %+v, sizes %v", a.Trailing, a.SizeRule)
	}
	if dg := m.Structs["synth_digest"]; dg == nil || dg.Size != 32 || !isByteString(dg) {
		t.Errorf("synth_digest = %+v, want a 32-byte byte string", dg)
	}
	wantHash := [32]byte{0: 1, 1: 2, 31: 0xff}
	if m.SchemaHash != wantHash || m.SchemaHashSymbol != "g_synth_schema_hash" {
		t.Errorf("schema hash %x (%s)", m.SchemaHash, m.SchemaHashSymbol)
	}
	if m.ContentType != "SYNTH" || m.hasContentType() {
		t.Errorf("content type %q", m.ContentType)
	}

	for _, c := range []struct {
		name, underlying string
		size             int64
		signed           bool
		values           []enumerator
	}{
		{"synth_kind", "uint8_t", 1, false, []enumerator{{"SYNTH_KIND_A", 1}, {"SYNTH_KIND_B", 200}}},
		{"synth_signed", "int32_t", 4, true, []enumerator{{"SYNTH_SIGNED_LOW", -5}, {"SYNTH_SIGNED_HIGH", 70000}}},
		{"synth_flags", "uint64_t", 8, false, []enumerator{{"SYNTH_FLAGS_LOW", 1}, {"SYNTH_FLAGS_HIGH", math.MinInt64}}}, // the bits of 1<<63
	} {
		e := m.Enums[c.name]
		if e == nil || e.Underlying != c.underlying || e.Size != c.size || e.Signed != c.signed || !slices.Equal(e.Values, c.values) {
			t.Errorf("enum %s = %+v", c.name, e)
		}
	}
	if e := m.Enums["synth_event_type"]; e == nil || e.Size != 2 || len(e.Values) != 9 {
		t.Errorf("enum synth_event_type = %+v", e)
	}

	consts := map[string]constant{}
	for _, c := range m.Constants {
		consts[c.Name] = c
	}
	if c := consts["SYNTH_SLOTS"]; !c.Int || c.Value != 3 || c.CType != "size_t" {
		t.Errorf("SYNTH_SLOTS = %+v", c)
	}
	if c := consts["SYNTH_WIDE_MASK"]; !c.Int || c.Value != 1<<40-1 || c.CType != "uint64_t" {
		t.Errorf("SYNTH_WIDE_MASK = %+v", c)
	}
	if c := consts["SYNTH_ALL_ONES"]; !c.Int || !c.Unsigned || uint64(c.Value) != math.MaxUint64 {
		t.Errorf("SYNTH_ALL_ONES = %+v", c)
	}
	// constexpr uint32_t SYNTH_PAIR_A = 2, SYNTH_PAIR_B = SYNTH_PAIR_A * 3;
	if a, b := consts["SYNTH_PAIR_A"], consts["SYNTH_PAIR_B"]; !a.Int || a.Value != 2 || a.CType != "uint32_t" || !b.Int || b.Value != 6 || b.CType != "uint32_t" {
		t.Errorf("SYNTH_PAIR_A = %+v, SYNTH_PAIR_B = %+v, want 2 and 6 (uint32_t)", a, b)
	}
	// Object-like macros: values worked out from synth.h and guarded.h.
	for _, c := range []struct {
		name, ctype string
		value       int64
		unsigned    bool
	}{
		{"SYNTH_MACRO_COUNT", "int", 12, false},
		{"SYNTH_MACRO_MASK", "unsigned long", 1 << 40, true}, // UINT64_C(1) is 1UL
		{"SYNTH_MACRO_BIG", "unsigned long long", -1, true},  // the bits of 2^64-1
		{"SYNTH_MACRO_NEG", "int32_t", -5, false},
		{"SYNTH_MACRO_SUM", "int", 12 + 6, false},
		{"SYNTH_MACRO_SIZE", "uint64_t", 4, true}, // sizeof(struct synth_inner)
		{"SYNTH_GUARDED_VALUE", "int", 7, false},
	} {
		if k, ok := consts[c.name]; !ok || !k.Int || !k.Macro || k.Value != c.value || k.Unsigned != c.unsigned || k.CType != c.ctype {
			t.Errorf("%s = %+v, want %d (%s)", c.name, k, c.value, c.ctype)
		}
	}
	if c := consts["SYNTH_MACRO_NAME"]; c.Int || !c.Macro || c.String != "synth-macro" {
		t.Errorf("SYNTH_MACRO_NAME = %+v", c)
	}
	// Not constants: empty, a type, floating point, reserved, #undef'd,
	// function-like, an include guard, the embedded libc's and predefined
	// macros.
	for _, name := range []string{"SYNTH_MACRO_EMPTY", "SYNTH_MACRO_TYPE", "SYNTH_MACRO_FLOAT", "_SYNTH_RESERVED", "SYNTH_MACRO_REDEFINED",
		"SYNTH_LIKELY", "MONAD_EVENT_SYNTH_BIT", "SYNTH_INLINE", "SYNTH_GUARDED_H", "UINT64_MAX", "INT32_MAX", "__x86_64__", "__STDC_VERSION__"} {
		if c, ok := consts[name]; ok {
			t.Errorf("%s became a constant: %+v", name, c)
		}
	}
	// Declaration order: by file first read (synth.h, then inc/guarded.h),
	// then by line.
	var order []string
	for _, c := range m.Constants {
		order = append(order, c.Name)
	}
	if got, want := strings.Join(order, " "), "SYNTH_WIDE_MASK SYNTH_ALL_ONES SYNTH_SLOTS SYNTH_PAIR_A SYNTH_PAIR_B SYNTH_EVENT_COUNT SYNTH_FILE_NAME "+
		"SYNTH_MACRO_COUNT SYNTH_MACRO_MASK SYNTH_MACRO_BIG SYNTH_MACRO_NEG SYNTH_MACRO_SUM SYNTH_MACRO_SIZE SYNTH_MACRO_NAME SYNTH_GUARDED_VALUE"; got != want {
		t.Errorf("constants in order\n%s\nwant\n%s", got, want)
	}
	if c := consts["SYNTH_EVENT_COUNT"]; c.Value != 9 {
		t.Errorf("SYNTH_EVENT_COUNT = %+v", c)
	}
	if c := consts["SYNTH_FILE_NAME"]; c.Int || c.String != "synth-events" {
		t.Errorf("SYNTH_FILE_NAME = %+v", c)
	}

	// struct synth_inner { uint16_t a; uint8_t b; }: 4 bytes, align 2.
	if s := m.Structs["synth_inner"]; s.Size != 4 || s.Align != 2 {
		t.Errorf("synth_inner size %d align %d", s.Size, s.Align)
	}
	if s := m.Structs["synth_hash"]; !s.Anonymous || s.Size != 32 {
		t.Errorf("synth_hash = %+v", s)
	}
	if s := m.Structs["synth_tagged"]; !s.Typedef || s.TypedefOf != "struct synth_tag" || s.Size != 40 || s.Align != 8 {
		t.Errorf("synth_tagged = %+v", s)
	}
	if s := m.Structs["synth_ping"]; !s.Typedef || s.Scalar == nil || s.TypedefOf != "uint32_t" || s.Size != 4 {
		t.Errorf("synth_ping = %+v", s)
	}
	// synth_big: kind@0, flag@1, alignas(64) hot@64; the unnamed 16-bit
	// field takes bytes 68-69; low and mid share the 32-bit unit at 68
	// (bits 560-562 and 563-572 from the start); neg would cross that
	// unit's end, so it starts at bit 576; __uint128_t aligns wide to 80;
	// inner[3] (3×4) at 96, words at 112, s at 128; 132 rounded to the
	// alignment of 64 is 192.
	big := m.Structs["synth_big"]
	if big.Size != 192 || big.Align != 64 {
		t.Errorf("synth_big size %d align %d, want 192 and 64", big.Size, big.Align)
	}
	for _, c := range []struct {
		name      string
		off, size int64
	}{{"kind", 0, 1}, {"flag", 1, 1}, {"hot", 64, 4}, {"wide", 80, 16}, {"inner", 96, 12}, {"words", 112, 16}, {"s", 128, 4}} {
		if f := field(t, big, c.name); f.Offset != c.off || f.Size != c.size || f.BitField {
			t.Errorf("synth_big.%s at %d size %d, want %d size %d", c.name, f.Offset, f.Size, c.off, c.size)
		}
	}
	if f := field(t, big, "hot"); f.Alignas != 64 {
		t.Errorf("hot alignas %d", f.Alignas)
	}
	if f := field(t, big, "wide"); f.Align != 16 || f.Type.Kind != kindUint128 {
		t.Errorf("wide align %d kind %v", f.Align, f.Type.Kind)
	}
	if f := field(t, big, "inner"); f.Type.Kind != kindArray || f.Type.Len != 3 || f.Type.Elem.Name != "synth_inner" {
		t.Errorf("inner type %+v", f.Type)
	}
	for _, c := range []struct {
		name      string
		bit, bits int64
		signed    bool
	}{{"low", 560, 3, false}, {"mid", 563, 10, false}, {"neg", 576, 5, true}} {
		f := field(t, big, c.name)
		if !f.BitField || f.Offset*8+f.BitOffset != c.bit || f.Bits != c.bits || f.Type.Signed != c.signed {
			t.Errorf("bit-field %s at bit %d width %d (unit %d+%d), want bit %d width %d", c.name, f.Offset*8+f.BitOffset, f.Bits, f.Offset, f.Size, c.bit, c.bits)
		}
	}
	// synth_attrs: a@0; _Alignas(8) b@8; c aligned(16) by attribute @16;
	// alignas(uint64_t) d@24; size 32, align 16.
	attrs := m.Structs["synth_attrs"]
	if attrs.Size != 32 || attrs.Align != 16 {
		t.Errorf("synth_attrs size %d align %d, want 32 and 16", attrs.Size, attrs.Align)
	}
	for _, c := range []struct {
		name string
		off  int64
	}{{"a", 0}, {"b", 8}, {"c", 16}, {"d", 24}} {
		if f := field(t, attrs, c.name); f.Offset != c.off {
			t.Errorf("synth_attrs.%s at %d, want %d", c.name, f.Offset, c.off)
		}
	}
	if f := field(t, attrs, "d"); f.Alignas != 8 {
		t.Errorf("synth_attrs.d alignas %d, want 8", f.Alignas)
	}
	// __attribute__((packed)): tag@0, value@1, more@5; 7 bytes, align 1.
	packed := m.Structs["synth_packed"]
	if packed.Size != 7 || packed.Align != 1 || field(t, packed, "value").Offset != 1 || field(t, packed, "more").Offset != 5 {
		t.Errorf("synth_packed = %+v", packed)
	}
	if _, ok := m.Structs["synth_callback"]; ok {
		t.Errorf("the function pointer typedef synth_callback became a struct")
	}
	unnamed := slices.IndexFunc(big.Fields, func(f cField) bool { return f.Name == "" })
	if unnamed < 0 || big.Fields[unnamed].Offset != 68 || !big.Fields[unnamed].BitField || big.Fields[unnamed].Bits != 16 {
		t.Errorf("unnamed bit-field missing or misplaced: %+v", big.Fields)
	}
}

func synthFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := generate(buildSynth(t), config{Package: "synthcheck", Command: "eventgen (synthetic golden test)"})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden compares the generator's output for the synthetic schema with
// testdata/synth/golden (go test ./gen -run TestGolden -update rewrites it).
func TestGolden(t *testing.T) {
	for name, got := range synthFiles(t) {
		path := filepath.Join("testdata", "synth", "golden", name+".golden")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (run with -update after checking the change)", name, path)
		}
	}
}

// TestSynthCompiles vets the generated synthetic package together with a
// copy of the hand-written runtime of execevents (its tests included), and
// runs the generated layout tests, testdata/synth/check_test.go and the
// runtime's schema-independent tests against it: the runtime must hold for
// any schema.
func TestSynthCompiles(t *testing.T) {
	files := synthFiles(t)
	check, err := os.ReadFile("testdata/synth/check_test.go")
	if err != nil {
		t.Fatal(err)
	}
	files["check_test.go"] = check
	checkPackage(t, "synthcheck", files, "TestBitFields", "TestDecodeBlob", "TestSynthJSON")
}

// runtimeTests are the tests of execevents' runtime that hold for any
// schema, and the generated layout tests.
var runtimeTests = []string{"TestLayout", "TestEventSizes", "TestEveryKind", "TestPayloadSizeErrors", "TestReadExpired", "TestAppendNumbers"}

// checkPackage writes the generated files of package pkg and a copy of
// execevents' runtime into a temporary directory under testdata (inside
// this module, so that the runtime's tests may use internal packages),
// vets the package and runs runtimeTests and tests in it.
func checkPackage(t *testing.T, pkg string, files map[string][]byte, tests ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the go command")
	}
	dir, err := os.MkdirTemp("testdata", pkg+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, b := range runtimeFiles(t, pkg, "github.com/monadgo/events/gen/"+filepath.ToSlash(dir)) {
		if _, ok := files[name]; ok {
			t.Fatalf("runtime file %s has the name of a generated file", name)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	goCmd("vet", ".")
	tests = append(slices.Clone(runtimeTests), tests...)
	out := goCmd("test", "-count=1", "-v", "-run", "^("+strings.Join(tests, "|")+")$", ".")
	for _, name := range tests {
		if !bytes.Contains(out, []byte("--- PASS: "+name+" ")) {
			t.Errorf("generated package test %s did not pass:\n%s", name, out)
		}
	}
}

var packageClause = regexp.MustCompile(`(?m)^package execevents(_test)?$`)

// runtimeFiles returns the hand-written files of ../execevents (everything
// but the generated z*.go), made into package name at import path path.
func runtimeFiles(t *testing.T, name, path string) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob("../execevents/*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, p := range names {
		base := filepath.Base(p)
		if strings.HasPrefix(base, "z") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = packageClause.ReplaceAll(b, []byte("package "+name+"$1"))
		b = bytes.ReplaceAll(b, []byte(`"github.com/monadgo/events/execevents"`), []byte(`execevents "`+path+`"`))
		files[base] = b
	}
	if len(files) == 0 {
		t.Fatal("no runtime files in ../execevents")
	}
	return files
}

// TestSynthMutations builds and generates from randomly damaged copies of
// the synthetic schema: bad headers must give errors, never panics (the
// C parser panics on some inputs; cc.go turns that into an error). Native
// fuzzing is impractical here: one instrumented parse takes seconds.
func TestSynthMutations(t *testing.T) {
	h, err := os.ReadFile("testdata/synth/synth.h")
	if err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile("testdata/synth/synth_metadata.c")
	if err != nil {
		t.Fatal(err)
	}
	common, err := os.ReadFile("testdata/synth/inc/common.h")
	if err != nil {
		t.Fatal(err)
	}
	guarded, err := os.ReadFile("testdata/synth/inc/guarded.h")
	if err != nil {
		t.Fatal(err)
	}
	n := 200
	if testing.Short() {
		n = 20
	}
	rng := rand.New(rand.NewPCG(7, 9))
	for i := range n {
		files := [][]byte{bytes.Clone(h), bytes.Clone(c)}
		if i == 0 {
			// A newline inside a macro name once crashed the C parser.
			files[0] = bytes.Replace(files[0], []byte("#define MONAD_EVENT"), []byte("#define MONAD\nEVENT"), 1)
			files[1] = bytes.Replace(files[1], []byte(".event_type = SYNTH_EMPTY, .c_name = \"EMPTY\", .d"), []byte(".event_type = S"), 1)
		}
		for range rng.IntN(4) {
			f := &files[rng.IntN(2)]
			b, p := *f, rng.IntN(len(*f))
			switch rng.IntN(3) {
			case 0: // delete a byte
				b = append(b[:p:p], b[p+1:]...)
			case 1: // replace a byte
				b[p] = byte(rng.IntN(128))
			case 2: // delete a run
				b = append(b[:p:p], b[min(len(b), p+rng.IntN(40)):]...)
			}
			*f = b
		}
		root := fstest.MapFS{"synth.h": {Data: files[0]}, "synth_metadata.c": {Data: files[1]}, "inc/common.h": {Data: common}, "inc/guarded.h": {Data: guarded}}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic %v on\n%s\n---\n%s", r, files[0], files[1])
				}
			}()
			m, err := buildModel(root, []string{"synth.h", "synth_metadata.c"}, synthRules)
			if i == 0 && err == nil {
				t.Errorf("the damaged header that crashed the parser built without error")
			}
			if err == nil {
				generate(m, config{Package: "synthcheck"})
			}
		}()
	}
}

// TestSameNameTypedefs: typedef struct x {...} x and typedef enum y : T
// {...} y name one type each; as payloads they must not become Go types
// defined in terms of themselves.
func TestSameNameTypedefs(t *testing.T) {
	root := fstest.MapFS{"s.h": {Data: []byte(`#include <stdint.h>
typedef struct s_same { uint8_t a; uint32_t b; } s_same;
typedef enum s_kind : uint8_t { S_KIND_A, S_KIND_B } s_kind;
enum s_event_type : uint16_t { S_NONE, S_SAME, S_KIND };
struct monad_event_metadata { uint16_t event_type; char const *c_name; char const *description; };
struct monad_event_metadata const g_s_metadata[3] = {
    [S_NONE] = {S_NONE, "NONE", "n"}, [S_SAME] = {S_SAME, "SAME", "s"}, [S_KIND] = {S_KIND, "KIND", "k"}};
`)}}
	m, err := buildModel(root, []string{"s.h"}, []trailingRule{})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Structs["s_same"]; s == nil || s.Typedef || s.Size != 8 || len(s.Fields) != 2 {
		t.Errorf("s_same = %+v, want the struct itself", s)
	}
	files, err := generate(m, config{Package: "s"})
	if err != nil {
		t.Fatal(err)
	}
	src := string(files["ztypes.go"])
	typed := strings.Join(strings.Fields(string(files["ztyped.go"])), " ")
	for _, want := range []string{"\ntype SSame struct {", "\ntype SKind uint8\n", "type SameEvent struct { EventMeta *SSame }", "type KindEvent struct { EventMeta Code SKind"} {
		if !strings.Contains(src+typed, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	for _, bad := range []string{"type SSame = SSame", "type SKind SKind"} {
		if strings.Contains(src, bad) {
			t.Errorf("generated code has %q", bad)
		}
	}
}

// TestRawMembers: members of types the generator has no Go type for (a
// union, a double) keep their bytes at C's offsets; pointers are refused.
func TestRawMembers(t *testing.T) {
	header := `#include <stdint.h>
struct r_raw { uint8_t a; union { uint32_t u; float f; } u; double d; struct { uint16_t x; } anon; struct { uint32_t y; }; uint8_t z; };
struct r_ptr { void *p; };
enum r_event_type : uint16_t { R_NONE, R_RAW, R_PTR };
struct monad_event_metadata { uint16_t event_type; char const *c_name; char const *description; };
struct monad_event_metadata const g_r_metadata[3] = {
    [R_NONE] = {R_NONE, "NONE", "n"}, [R_RAW] = {R_RAW, "RAW", "r"}, [R_PTR] = {R_PTR, "PTR", "p"}};
`
	m, err := buildModel(fstest.MapFS{"r.h": {Data: []byte(header)}}, []string{"r.h"}, []trailingRule{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := generate(m, config{Package: "r"}); err == nil || !strings.Contains(err.Error(), "cannot appear in a payload") {
		t.Errorf("a pointer payload member: error %v", err)
	}
	m, err = buildModel(fstest.MapFS{"r.h": {Data: []byte(strings.Replace(header, "void *p", "uint64_t p", 1))}}, []string{"r.h"}, []trailingRule{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(m, config{Package: "r"})
	if err != nil {
		t.Fatal(err)
	}
	src := string(files["ztypes.go"])
	for _, want := range []string{"U [4]byte // offset 4", "D [8]byte // offset 8", "_ [3]byte // padding at 1",
		"Anon [2]byte // offset 16", "_ [6]byte // padding at 18", "Z byte // offset 24"} {
		if !strings.Contains(strings.Join(strings.Fields(src), " "), want) {
			t.Errorf("generated code lacks %q:\n%s", want, src)
		}
	}
}

// TestMacroSchemaConstants: a schema spelling its constants as #define
// (as a daemon release may) generates the same Go constants as constexpr,
// the event count included; without the default file name it still
// generates, with a warning naming the constant.
func TestMacroSchemaConstants(t *testing.T) {
	header := `#include <stdint.h>
enum monad_exec_event_type : uint16_t { MONAD_EXEC_NONE, MONAD_EXEC_A, MONAD_EXEC_B };
#define MONAD_EXEC_EVENT_COUNT (MONAD_EXEC_B + 1)
#define MONAD_EVENT_DEFAULT_EXEC_FILE_NAME "monad-" "exec-events"
#define MONAD_EXEC_MAX_TOPICS 4U
struct monad_event_metadata { uint16_t event_type; char const *c_name; char const *description; };
struct monad_event_metadata const g_m_metadata[MONAD_EXEC_EVENT_COUNT] = {
    {MONAD_EXEC_NONE, "NONE", "n"}, {MONAD_EXEC_A, "A", "a"}, {MONAD_EXEC_B, "B", "b"}};
`
	build := func(h string) *model {
		t.Helper()
		m, err := buildModel(fstest.MapFS{"m.h": {Data: []byte(h)}}, []string{"m.h"}, []trailingRule{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := build(header)
	if len(m.Warnings) != 0 {
		t.Errorf("warnings %q", m.Warnings)
	}
	files, err := generate(m, config{Package: "m"})
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Join(strings.Fields(string(files["ztypes.go"])), " ")
	for _, want := range []string{`DefaultExecFileName = "monad-exec-events"`, "MaxTopics = 4"} {
		if !strings.Contains(src, want) {
			t.Errorf("generated code lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "EventCount =") {
		t.Errorf("MONAD_EXEC_EVENT_COUNT emitted as a constant besides EventTypeCount")
	}
	// A count disagreeing with the metadata is refused as for constexpr.
	bad := build(strings.Replace(header, "(MONAD_EXEC_B + 1)", "(MONAD_EXEC_B + 2)", 1))
	if _, err := generate(bad, config{Package: "m"}); err == nil || !strings.Contains(err.Error(), "MONAD_EXEC_EVENT_COUNT is 4 but the metadata describes 3") {
		t.Errorf("wrong macro event count: error %v", err)
	}
	m = build(strings.Replace(header, "#define MONAD_EVENT_DEFAULT_EXEC_FILE_NAME", "#define MONAD_EVENT_DEFAULT_EXEC_FILE", 1))
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "MONAD_EVENT_DEFAULT_EXEC_FILE_NAME is not defined") {
		t.Errorf("warnings %q, want one naming MONAD_EVENT_DEFAULT_EXEC_FILE_NAME", m.Warnings)
	}
	if _, err := generate(m, config{Package: "m"}); err != nil {
		t.Errorf("a schema without the default file name: %v", err)
	}
}

// TestConstantNameCollisions: a constant whose Go name another constant
// or a generated identifier already has is left out with a warning
// rather than making the bindings fail to compile.
func TestConstantNameCollisions(t *testing.T) {
	root := fstest.MapFS{"c.h": {Data: []byte(`#include <stdint.h>
constexpr int MONAD_FOO = 1;
#define MONAD_EXEC_FOO 2
#define MONAD_EXEC_EVENT_INFO 3
#define MONAD_C_KIND 4
#define C_KIND_A_B 5
enum c_kind : uint8_t { C_KIND_A, C_KIND_B };
struct c_payload { enum c_kind k; };
enum c_event_type : uint16_t { C_NONE, C_PAYLOAD };
struct monad_event_metadata { uint16_t event_type; char const *c_name; char const *description; };
struct monad_event_metadata const g_c_metadata[2] = {{C_NONE, "NONE", "n"}, {C_PAYLOAD, "PAYLOAD", "p"}};
`)}}
	m, err := buildModel(root, []string{"c.h"}, []trailingRule{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(m, config{Package: "c"})
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Join(strings.Fields(string(files["ztypes.go"])), " ")
	// MONAD_FOO (first) is Foo; MONAD_EXEC_FOO would be Foo too;
	// MONAD_EXEC_EVENT_INFO would be EventInfo (the table's element type);
	// MONAD_C_KIND would be CKind (the enum's type). C_KIND_A_B is CKindAB,
	// no clash with the enumerator constants CKindA and CKindB.
	for _, want := range []string{"Foo = 1", "CKindAB = 5"} {
		if !strings.Contains(src, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	for _, bad := range []string{"Foo = 2", "EventInfo = 3", "CKind = 4"} {
		if strings.Contains(src, bad) {
			t.Errorf("generated code has %q", bad)
		}
	}
	var got []string
	for _, w := range m.Warnings {
		if strings.Contains(w, "not generated: its Go name") {
			got = append(got, w)
		}
	}
	if len(got) != 3 || !strings.Contains(got[0], "MONAD_EXEC_FOO") || !strings.Contains(got[1], "MONAD_EXEC_EVENT_INFO") || !strings.Contains(got[2], "MONAD_C_KIND") {
		t.Errorf("warnings %q, want MONAD_EXEC_FOO, MONAD_EXEC_EVENT_INFO and MONAD_C_KIND", got)
	}
}
