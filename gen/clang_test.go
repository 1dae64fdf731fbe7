package gen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// findClang returns a clang of version 18 or later (the first with C23
// enums with a fixed underlying type and constexpr), or skips the test.
func findClang(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`clang version (\d+)\.`)
	for _, name := range []string{"clang-21", "clang-20", "clang-19", "clang-18", "clang"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "--version").Output()
		if err != nil {
			continue
		}
		if m := re.FindSubmatch(out); m != nil {
			if v, _ := strconv.Atoi(string(m[1])); v >= 18 {
				return path
			}
		}
	}
	t.Skip("no clang >= 18 on PATH (Debian: apt-get install clang-19); gcc 12 cannot compile the C23 headers")
	return ""
}

// cSpelling is how C code names a model struct.
func cSpelling(s *cStruct) string {
	if s.Anonymous || s.Typedef {
		return s.Name
	}
	return "struct " + s.Name
}

// probeSource writes a C program printing, for every struct, enum and event
// of m, what the C compiler says about them, one fact per line, in the
// format expectedFacts produces from the model.
func probeSource(m *model, metadataSym string) string {
	var b strings.Builder
	b.WriteString("#include <stdio.h>\n#include <stddef.h>\n")
	b.WriteString("int main(void) {\n")
	for _, name := range sortedKeys(m.Structs) {
		s := m.Structs[name]
		c := cSpelling(s)
		fmt.Fprintf(&b, "\tprintf(\"struct %s %%zu %%zu\\n\", sizeof(%s), _Alignof(%s));\n", name, c, c)
		if s.Scalar != nil {
			continue
		}
		for _, f := range s.Fields {
			switch {
			case f.BitField && f.Name != "":
				// offsetof cannot take a bit-field: set all its bits in a
				// zeroed struct and report where they landed.
				fmt.Fprintf(&b, "\t{ %s x = {0}; x.%s = -1; unsigned char *p = (unsigned char *)&x; int first = -1, n = 0;\n", c, f.Name)
				b.WriteString("\t  for (size_t i = 0; i < 8 * sizeof x; i++) if (p[i / 8] >> (i % 8) & 1) { if (first < 0) first = (int)i; n++; }\n")
				fmt.Fprintf(&b, "\t  printf(\"bits %s.%s %%d %%d\\n\", first, n); }\n", name, f.Name)
			case !f.BitField:
				fmt.Fprintf(&b, "\tprintf(\"field %s.%s %%zu %%zu\\n\", offsetof(%s, %s), sizeof(((%s *)0)->%s));\n", name, f.Name, c, f.Name, c, f.Name)
			}
		}
	}
	for _, name := range sortedKeys(m.Enums) {
		e := m.Enums[name]
		fmt.Fprintf(&b, "\tprintf(\"enum %s %%zu\\n\", sizeof(enum %s));\n", name, name)
		for _, v := range e.Values {
			fmt.Fprintf(&b, "\tprintf(\"value %s %%lld\\n\", (long long)%s);\n", v.Name, v.Name)
		}
	}
	for _, c := range m.Constants {
		if c.Int {
			fmt.Fprintf(&b, "\tprintf(\"const %s %%lld\\n\", (long long)%s);\n", c.Name, c.Name)
		} else {
			fmt.Fprintf(&b, "\tprintf(\"const %s %%s\\n\", %s);\n", c.Name, c.Name)
		}
	}
	if metadataSym != "" {
		fmt.Fprintf(&b, "\tfor (size_t i = 0; i < sizeof(%s) / sizeof(%s[0]); i++)\n", metadataSym, metadataSym)
		fmt.Fprintf(&b, "\t\tprintf(\"event %%u %%s %%s\\n\", %s[i].event_type, %s[i].c_name, %s[i].description);\n", metadataSym, metadataSym, metadataSym)
	}
	if m.SchemaHashSymbol != "" {
		b.WriteString("\tprintf(\"hash\");\n")
		fmt.Fprintf(&b, "\tfor (int i = 0; i < 32; i++) printf(\" %%02x\", %s[i]);\n", m.SchemaHashSymbol)
		b.WriteString("\tprintf(\"\\n\");\n")
	}
	b.WriteString("\treturn 0;\n}\n")
	return b.String()
}

func expectedFacts(m *model) []string {
	var r []string
	for _, name := range sortedKeys(m.Structs) {
		s := m.Structs[name]
		r = append(r, fmt.Sprintf("struct %s %d %d", name, s.Size, s.Align))
		if s.Scalar != nil {
			continue
		}
		for _, f := range s.Fields {
			switch {
			case f.BitField && f.Name != "":
				r = append(r, fmt.Sprintf("bits %s.%s %d %d", name, f.Name, f.Offset*8+f.BitOffset, f.Bits))
			case !f.BitField:
				r = append(r, fmt.Sprintf("field %s.%s %d %d", name, f.Name, f.Offset, f.Size))
			}
		}
	}
	for _, name := range sortedKeys(m.Enums) {
		e := m.Enums[name]
		r = append(r, fmt.Sprintf("enum %s %d", name, e.Size))
		for _, v := range e.Values {
			r = append(r, fmt.Sprintf("value %s %d", v.Name, v.Value))
		}
	}
	for _, c := range m.Constants {
		if c.Int {
			r = append(r, fmt.Sprintf("const %s %d", c.Name, c.Value))
		} else {
			r = append(r, fmt.Sprintf("const %s %s", c.Name, c.String))
		}
	}
	for _, e := range m.Events {
		r = append(r, fmt.Sprintf("event %d %s %s", e.Value, e.Name, e.Description))
	}
	if m.HasSchemaHash {
		h := "hash"
		for _, x := range m.SchemaHash {
			h += fmt.Sprintf(" %02x", x)
		}
		r = append(r, h)
	}
	return r
}

// TestClangProbe compiles a sizeof/offsetof/enum/metadata probe of
// headers/ with clang -std=c23 and compares what the compiler reports with
// the model built by cc/v4: an independent check of the parser, the
// lowering pass and the transcription.
func TestClangProbe(t *testing.T) {
	clang := findClang(t)
	headers, err := filepath.Abs("../headers")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		entries  []string
		metadata string
	}{
		{"exec", defaultEntries, "g_monad_exec_event_metadata"},
		{"test", []string{"category/core/event/event_ring.h", "category/core/event/test_event_ctypes.h", "category/core/event/test_event_ctypes_metadata.c"}, "g_monad_test_event_metadata"},
		{"synth", []string{"synth.h", "synth_metadata.c"}, "g_synth_metadata"},
	} {
		t.Run(c.name, func(t *testing.T) {
			headers := headers
			if c.name == "synth" {
				if headers, err = filepath.Abs("testdata/synth"); err != nil {
					t.Fatal(err)
				}
			}
			m, err := buildModel(osDirFS(headers), c.entries, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var src strings.Builder
			for _, e := range c.entries {
				if strings.HasSuffix(e, ".h") {
					fmt.Fprintf(&src, "#include <%s>\n", e)
				}
			}
			src.WriteString(probeSource(m, c.metadata))
			probe := filepath.Join(dir, "probe.c")
			if err := os.WriteFile(probe, []byte(src.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, "probe")
			args := []string{"-std=c23", "-Wall", "-Werror", "-Wno-unused-function", "-I", headers, "-o", bin, probe}
			for _, e := range c.entries {
				if strings.HasSuffix(e, ".c") {
					args = append(args, filepath.Join(headers, e))
				}
			}
			if out, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v\n%s", clang, strings.Join(args, " "), err, out)
			}
			out, err := exec.Command(bin).Output()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			want := expectedFacts(m)
			if len(got) != len(want) {
				t.Fatalf("clang reported %d facts, the model %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("clang: %q\nmodel: %q", got[i], want[i])
				}
			}
			t.Logf("%d facts agree", len(got))
		})
	}
}
