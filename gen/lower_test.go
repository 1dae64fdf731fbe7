package gen

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLower(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		consts         []constexprDecl
	}{
		{"integer constexpr becomes an enumerator",
			"constexpr size_t N = A + 1;", "enum { N = (A + 1) };",
			[]constexprDecl{{Name: "N", Type: "size_t", Int: true, File: "f.h", Line: 1}}},
		{"static constexpr string becomes a static const array",
			"static constexpr char F[] = \"a\"\n  \"b\";", "static const char F[] = \"a\"   \"b\"\n;",
			[]constexprDecl{{Name: "F", Type: "char[]", File: "f.h", Line: 1}}},
		{"multi-line constexpr keeps its lines (the ';' stays on its own)",
			"constexpr uint32_t X =\n    1'024;\nint y;", "enum { X = (1024) }\n;\nint y;",
			[]constexprDecl{{Name: "X", Type: "uint32_t", Int: true, File: "f.h", Line: 1}}},
		{"several integer declarators become one enumerator each",
			"constexpr int A = 1, B = (A, 2), C = f(1, 2);", "enum { A = (1) }; enum { B = ((A, 2)) }; enum { C = (f(1, 2)) };",
			[]constexprDecl{{Name: "A", Type: "int", Int: true, File: "f.h", Line: 1}, {Name: "B", Type: "int", Int: true, File: "f.h", Line: 1}, {Name: "C", Type: "int", Int: true, File: "f.h", Line: 1}}},
		{"several declarators over lines keep the type and their own lines",
			"static constexpr uint64_t X = 1,\n  Y = 2'0;", "enum { X = (1) }; enum { Y = (20) }\n;",
			[]constexprDecl{{Name: "X", Type: "uint64_t", Int: true, File: "f.h", Line: 1}, {Name: "Y", Type: "uint64_t", Int: true, File: "f.h", Line: 2}}},
		{"integer and array declarators mixed",
			"constexpr char N = 'a', S[] = \"x,y\", *P = \"z\";", "enum { N = ('a') }; static const char S[] = \"x,y\"; static const char *P = \"z\";",
			[]constexprDecl{{Name: "N", Type: "char", Int: true, File: "f.h", Line: 1}, {Name: "S", Type: "char[]", File: "f.h", Line: 1}, {Name: "P", Type: "char *", File: "f.h", Line: 1}}},
		{"__has_c_attribute answers for the standard and scoped names",
			"#if __has_c_attribute(nodiscard) && __has_c_attribute( gnu :: unused ) && !__has_c_attribute(__gnu__::mode) && defined(__has_c_attribute)",
			"#if 202003L && 1L && !0 && defined(__has_c_attribute)", nil},
		{"__has_c_attribute of an argument that is no name is left to the macro",
			"#if __has_c_attribute(X(1))", "#if __has_c_attribute(X(1))", nil},
		{"gnu layout attributes become __attribute__, the others are blanked",
			"struct [[gnu::packed, deprecated]] s { [[__gnu__::__aligned__(1'6), gnu::unused]] int x; int y [[gnu::aligned(8)]]; };",
			"struct __attribute__((packed)) s { __attribute__((aligned(16))) int x; int y __attribute__((aligned(8))); };", nil},
		{"one-argument static_assert gets a message",
			"static_assert(sizeof(struct s) == 6'4);", `static_assert(sizeof(struct s) == 64, "");`, nil},
		{"two-argument static_assert is kept",
			`static_assert(f(a, b) == 1, "m");`, `static_assert(f(a, b) == 1, "m");`, nil},
		{"_Static_assert too",
			"_Static_assert(1);", `_Static_assert(1, "");`, nil},
		{"attributes are blanked in place",
			"[[nodiscard]] int f(int x [[maybe_unused]]);", "              int f(int x                 );", nil},
		{"multi-line attribute keeps its lines",
			"[[deprecated(\n\"x\")]] int g;", "             \n       int g;", nil},
		{"hex digit separators",
			"int a = 0xFF'FF, b = 1'2'3;", "int a = 0xFFFF, b = 123;", nil},
		{"character constants, strings and comments are untouched",
			"char c = '\\'', d = 'x'; /* constexpr 1'0 */ // static_assert(x);\nchar *s = \"[[a]] 1'0\";",
			"char c = '\\'', d = 'x'; /* constexpr 1'0 */ // static_assert(x);\nchar *s = \"[[a]] 1'0\";", nil},
		{"identifiers containing the keywords are untouched",
			"int my_constexpr = 1, static_assert_x = 2;", "int my_constexpr = 1, static_assert_x = 2;", nil},
		{"array subscripts are not attributes", "a[b[1]] = 2;", "a[b[1]] = 2;", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, consts, err := lower("f.h", []byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("lower(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
			if bytes.Count(got, []byte("\n")) != strings.Count(c.in, "\n") {
				t.Errorf("line count changed: %q", got)
			}
			if !slices.Equal(consts, c.consts) {
				t.Errorf("constexprs %+v, want %+v", consts, c.consts)
			}
		})
	}
}

func TestLowerErrors(t *testing.T) {
	for _, in := range []string{
		"constexpr int N = 1",     // no ';'
		"constexpr int N;",        // no initializer
		"constexpr int N = 1, M;", // a later declarator without initializer
		"constexpr int N = 1, = 2;",
		"static_assert(1;",
		"[[unterminated",
		"struct s { int x [[gnu::mode(DI)]]; };", // a layout attribute cc/v4 does not apply
	} {
		if _, _, err := lower("f.h", []byte(in)); err == nil || !strings.Contains(err.Error(), "f.h:1") {
			t.Errorf("lower(%q): error %v, want one at f.h:1", in, err)
		}
	}
}

// TestHermetic builds the model with no C compiler (or anything else) on
// PATH: the generator must never run one.
func TestHermetic(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CC", "/nonexistent/cc")
	if _, err := buildModel(osDirFS("../headers"), nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestHermeticMissingSystemHeader: a system header outside the embedded
// libc is an error naming it and what the libc has; the host's headers are
// never consulted (this machine has <stdio.h>).
func TestHermeticMissingSystemHeader(t *testing.T) {
	root := fstest.MapFS{"a.h": {Data: []byte("#include <stdint.h>\n#include <stdio.h>\n")}}
	_, err := buildModel(root, []string{"a.h"}, nil)
	if err == nil || !strings.Contains(err.Error(), "a.h:2:10: include file not found: <stdio.h>") || !strings.Contains(err.Error(), "<stdint.h>, <string.h>") {
		t.Errorf("error %v, want one naming <stdio.h> and the embedded headers", err)
	}
}

// FuzzLower checks that lowering never panics and never moves a line.
func FuzzLower(f *testing.F) {
	for _, s := range []string{
		"constexpr size_t N = 1'0;", "static constexpr char s[] = \"x\";", "static_assert(a, b);",
		"[[x]] int y;", "char c = 'a'; // c", "/* [[ */ 0x1'2", "u8'a' L'b'", "static constexpr int",
		"constexpr int A = 1, B = (2, 3);", "[[gnu::aligned(8), gnu::packed]] int x;", "#if __has_c_attribute(gnu::x)", "__has_c_attribute(",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, _, err := lower("f.h", src)
		if err != nil {
			return
		}
		if a, b := bytes.Count(src, []byte("\n")), bytes.Count(out, []byte("\n")); a != b {
			t.Fatalf("lower(%q) has %d lines, input %d: %q", src, b, a, out)
		}
	})
}

func TestIncludeGuard(t *testing.T) {
	for in, want := range map[string]string{
		"// c\n/* x\n */\n#ifndef A_H\n#define A_H\n#endif\n": "A_H",
		"#if !defined(B_H)\n#  define B_H 1\n#endif\n":        "B_H",
		"#if ! defined B_H\n#define B_H\n":                    "B_H",
		"#pragma once\n#define C 1\n":                         "",
		"#ifndef A\n#define B\n":                              "",
		"int x;\n#ifndef A\n#define A\n":                      "",
		"#ifdef A\n#define A 1\n":                             "",
	} {
		if got := includeGuard([]byte(in)); got != want {
			t.Errorf("includeGuard(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFeatureTests: the feature-test operators answer for what the
// generator handles (features.go). Each row is a #if expression and the
// answer a header relying on it must get: clang's for what the generator
// supports, no for what it would get wrong or cannot find.
func TestFeatureTests(t *testing.T) {
	// notClang says why the generator deliberately answers otherwise than
	// clang 19 (checked below when it is installed).
	rows := []struct {
		expr     string
		want     bool
		notClang string
	}{
		{"__has_include(<stdint.h>)", true, ""},               // embedded libc
		{"__has_include(<stdio.h>)", false, "a host header"},  // not in the libc
		{`__has_include("sub/x.h")`, true, ""},                // relative to the including file
		{`__has_include(<sub/x.h>)`, true, ""},                // the tree is on the system path
		{`__has_include("missing.h")`, false, ""},             // nowhere
		{"__has_builtin(__builtin_expect)", true, ""},         // declared by cc/v4
		{"__has_builtin(__builtin_offsetof)", true, ""},       // expanded by cc/v4
		{"__has_builtin(__builtin_no_such_thing)", false, ""}, // cc/v4's default said yes
		{"__has_builtin(memcpy)", false, "a library builtin"}, // a declared function, not a builtin
		{"__has_attribute(packed)", true, ""},                 // applied by cc/v4
		{"__has_attribute(__aligned__)", true, ""},
		{"__has_attribute(always_inline)", true, ""},    // no effect on a layout
		{"__has_attribute(mode)", false, "not applied"}, // changes a type
		{"__has_attribute(scalar_storage_order)", false, ""},
		{"__has_attribute(no_such_attribute)", false, ""},
		{"__has_c_attribute(nodiscard) == 202003L", true, ""},
		{"__has_c_attribute(__deprecated__) == 201904L", true, ""},
		{"__has_c_attribute(gnu::packed)", true, ""}, // lower applies it
		{"__has_c_attribute(gnu::mode)", false, "not applied"},
		{"__has_c_attribute(clang::packed)", false, ""},
		{"__has_c_attribute(no_such)", false, ""},
		{"__has_feature(c_alignas)", true, ""},
		{"defined(__has_attribute) && defined(__has_c_attribute) && defined(__has_builtin) && defined(__has_include)", true, ""},
	}
	var b strings.Builder
	b.WriteString("#include <stdint.h>\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "#if %s\n#define R%d 1\n#else\n#define R%d 0\n#endif\n", r.expr, i, i)
	}
	b.WriteString(`enum f_event_type : uint16_t { F_NONE };
struct monad_event_metadata { uint16_t event_type; char const *c_name; char const *description; };
struct monad_event_metadata const g_f_metadata[1] = {{F_NONE, "NONE", "n"}};
`)
	root := fstest.MapFS{"a.h": {Data: []byte(b.String())}, "sub/x.h": {Data: []byte("enum { X_H = 1 };\n")}}
	m, err := buildModel(root, []string{"a.h"}, []trailingRule{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range m.Constants {
		got[c.Name] = c.Value
	}
	for i, r := range rows {
		if v, ok := got[fmt.Sprintf("R%d", i)]; !ok || (v == 1) != r.want {
			t.Errorf("#if %s: %d, want %v", r.expr, v, r.want)
		}
	}
	t.Run("clang", func(t *testing.T) {
		clang := findClang(t)
		dir := t.TempDir()
		for name, f := range root {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, err := exec.Command(clang, "-std=c23", "-E", "-dM", "-I", dir, filepath.Join(dir, "a.h")).Output()
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows {
			want := r.want != (r.notClang != "")
			if has := bytes.Contains(out, []byte(fmt.Sprintf("#define R%d 1\n", i))); has != want {
				t.Errorf("clang: #if %s is %v, the test expects %v (differs: %q)", r.expr, has, want, r.notClang)
			}
		}
	})
}

// TestGNUAttributeLayout: [[gnu::aligned]] and [[gnu::packed]] change the
// layout as __attribute__ does (offsets by the x86-64 SysV rules), instead
// of being blanked.
func TestGNUAttributeLayout(t *testing.T) {
	root := fstest.MapFS{"a.h": {Data: []byte(`#include <stdint.h>
struct g_aligned { uint8_t a; [[gnu::aligned(16)]] uint32_t b; uint8_t c [[__gnu__::__aligned__(8)]]; };
struct [[gnu::packed]] g_packed { uint8_t a; uint64_t b; };
enum g_event_type : uint16_t { G_NONE };
struct monad_event_metadata { uint16_t event_type; char const *c_name; char const *description; };
struct monad_event_metadata const g_g_metadata[1] = {{G_NONE, "NONE", "n"}};
`)}}
	m, err := buildModel(root, []string{"a.h"}, []trailingRule{})
	if err != nil {
		t.Fatal(err)
	}
	// g_aligned: a@0, b aligned to 16 @16, c aligned to 8 @24; size 32
	// (a multiple of 16), align 16.
	if s := m.Structs["g_aligned"]; s == nil || s.Size != 32 || s.Align != 16 || s.Fields[1].Offset != 16 || s.Fields[2].Offset != 24 {
		t.Errorf("g_aligned = %+v", s)
	}
	// g_packed: a@0, b@1, 9 bytes, align 1.
	if s := m.Structs["g_packed"]; s == nil || s.Size != 9 || s.Align != 1 || s.Fields[1].Offset != 1 {
		t.Errorf("g_packed = %+v", s)
	}
}
