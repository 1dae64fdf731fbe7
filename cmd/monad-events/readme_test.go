package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADME keeps the front page honest: the two quick-start commands are
// there verbatim, the sample output it shows is what the demo prints, and
// its library example is the code Example_readme compiles and runs.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	for _, cmd := range []string{
		"\n    go run ./cmd/monad-events blocks testdata/demo.snapshot.zst\n",
		"\n    ./scripts/test.sh\n",
	} {
		if !strings.Contains(text, cmd) {
			t.Errorf("README lacks the quick-start command %q", strings.TrimSpace(cmd))
		}
	}

	// Sample output: the indented block after "prints one line\nper update:".
	_, after, ok := strings.Cut(text, "per update:\n\n")
	if !ok {
		t.Fatal("README: no sample output of the quick-start command")
	}
	sample, _, _ := strings.Cut(after, "\n\n")
	out := mustRun(t, "blocks", demoSnapshot(t)).stdout
	for _, l := range strings.Split(sample, "\n") {
		l = strings.TrimPrefix(l, "    ")
		if l != "..." && !strings.Contains(out, l+"\n") {
			t.Errorf("README sample line is not in the demo's output: %q", l)
		}
	}

	// Library example: the README's Go block, line by line, is the body of
	// Example_readme from execevents.Open to the end of the loop.
	_, after, ok = strings.Cut(text, "```go\n")
	if !ok {
		t.Fatal("README: no Go example")
	}
	block, _, _ := strings.Cut(after, "```")
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(src), "\tring, err := execevents.Open")
	body, _, _ = strings.Cut("\tring, err := execevents.Open"+body, "\t// Output:")
	want := dedent(body)
	if got := dedent(block); got != want {
		t.Errorf("README example differs from Example_readme:\nREADME:\n%s\nExample_readme:\n%s", got, want)
	}
}

// TestREADMEFlags: every flag the README's command table and examples give
// a command is one that command accepts.
func TestREADMEFlags(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `(\\w+) ")
	example := regexp.MustCompile(`^\s+monad-events (\w+) (.*)`)
	flagRe := regexp.MustCompile(`(?:^|[\s` + "`" + `])(--?[a-z][a-z-]*)`)
	checked := 0
	for _, l := range strings.Split(string(readme), "\n") {
		var cmd, text string
		if m := row.FindStringSubmatch(l); m != nil {
			cmd, text = m[1], l
		} else if m := example.FindStringSubmatch(l); m != nil {
			args, _, _ := strings.Cut(m[2], "#") // not the comment
			args, _, _ = strings.Cut(args, "|")  // nor the next command
			cmd, text = m[1], args
		}
		if _, ok := runners[cmd]; !ok {
			continue
		}
		help := mustRun(t, cmd, "-h").stdout
		for _, m := range flagRe.FindAllStringSubmatch(text, -1) {
			name := strings.TrimLeft(m[1], "-")
			if !strings.Contains(help, "\n  -"+name+"\t") && !strings.Contains(help, "\n  -"+name+" ") && !strings.Contains(help, "\n  -"+name+"\n") {
				t.Errorf("README gives %s the flag %s, which it does not have:\n%s", cmd, m[1], l)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d flags found in the README's command table and examples", checked)
	}
}

// dedent trims each line's leading tabs and drops blank lines.
func dedent(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimLeft(l, "\t"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
