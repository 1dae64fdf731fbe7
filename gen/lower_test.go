package gen

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLower(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		consts         []Constexpr
	}{
		{"integer constexpr becomes an enumerator",
			"constexpr size_t N = A + 1;", "enum { N = (A + 1) };",
			[]Constexpr{{Name: "N", Type: "size_t", Int: true, File: "f.h", Line: 1}}},
		{"static constexpr string becomes a static const array",
			"static constexpr char F[] = \"a\"\n  \"b\";", "static const char F[] = \"a\"   \"b\"\n;",
			[]Constexpr{{Name: "F", Type: "char[]", File: "f.h", Line: 1}}},
		{"multi-line constexpr keeps its lines (the ';' stays on its own)",
			"constexpr uint32_t X =\n    1'024;\nint y;", "enum { X = (1024) }\n;\nint y;",
			[]Constexpr{{Name: "X", Type: "uint32_t", Int: true, File: "f.h", Line: 1}}},
		{"several integer declarators become one enumerator each",
			"constexpr int A = 1, B = (A, 2), C = f(1, 2);", "enum { A = (1) }; enum { B = ((A, 2)) }; enum { C = (f(1, 2)) };",
			[]Constexpr{{Name: "A", Type: "int", Int: true, File: "f.h", Line: 1}, {Name: "B", Type: "int", Int: true, File: "f.h", Line: 1}, {Name: "C", Type: "int", Int: true, File: "f.h", Line: 1}}},
		{"several declarators over lines keep the type and their own lines",
			"static constexpr uint64_t X = 1,\n  Y = 2'0;", "enum { X = (1) }; enum { Y = (20) }\n;",
			[]Constexpr{{Name: "X", Type: "uint64_t", Int: true, File: "f.h", Line: 1}, {Name: "Y", Type: "uint64_t", Int: true, File: "f.h", Line: 2}}},
		{"integer and array declarators mixed",
			"constexpr char N = 'a', S[] = \"x,y\", *P = \"z\";", "enum { N = ('a') }; static const char S[] = \"x,y\"; static const char *P = \"z\";",
			[]Constexpr{{Name: "N", Type: "char", Int: true, File: "f.h", Line: 1}, {Name: "S", Type: "char[]", File: "f.h", Line: 1}, {Name: "P", Type: "char *", File: "f.h", Line: 1}}},
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
			got, consts, err := Lower("f.h", []byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("Lower(%q)\n got %q\nwant %q", c.in, got, c.want)
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
	} {
		if _, _, err := Lower("f.h", []byte(in)); err == nil || !strings.Contains(err.Error(), "f.h:1") {
			t.Errorf("Lower(%q): error %v, want one at f.h:1", in, err)
		}
	}
}

// TestHermetic builds the model with no C compiler (or anything else) on
// PATH: the generator must never run one.
func TestHermetic(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CC", "/nonexistent/cc")
	if _, err := Build(osDirFS("../headers"), nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestHermeticMissingSystemHeader: a system header outside the embedded
// libc is an error naming it and what the libc has; the host's headers are
// never consulted (this machine has <stdio.h>).
func TestHermeticMissingSystemHeader(t *testing.T) {
	root := fstest.MapFS{"a.h": {Data: []byte("#include <stdint.h>\n#include <stdio.h>\n")}}
	_, err := Build(root, []string{"a.h"}, nil)
	if err == nil || !strings.Contains(err.Error(), "a.h:2:10: include file not found: <stdio.h>") || !strings.Contains(err.Error(), "<stdint.h>, <string.h>") {
		t.Errorf("error %v, want one naming <stdio.h> and the embedded headers", err)
	}
}

// FuzzLower checks that lowering never panics and never moves a line.
func FuzzLower(f *testing.F) {
	for _, s := range []string{
		"constexpr size_t N = 1'0;", "static constexpr char s[] = \"x\";", "static_assert(a, b);",
		"[[x]] int y;", "char c = 'a'; // c", "/* [[ */ 0x1'2", "u8'a' L'b'", "static constexpr int",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, _, err := Lower("f.h", src)
		if err != nil {
			return
		}
		if a, b := bytes.Count(src, []byte("\n")), bytes.Count(out, []byte("\n")); a != b {
			t.Fatalf("Lower(%q) has %d lines, input %d: %q", src, b, a, out)
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
