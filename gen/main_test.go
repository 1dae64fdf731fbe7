package gen

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// moduleOptions are the options of generate.go's go:generate directive.
var moduleOptions = options{Root: "headers", Out: "execevents", Package: "execevents", RingTest: "eventring/zlayout_test.go"}

// directiveArgs returns the eventgen arguments of generate.go's go:generate
// directive, which must be moduleOptions' command. Run from the module root.
func directiveArgs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("generate.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if cmd, ok := strings.CutPrefix(l, "//go:generate "); ok {
			lines = append(lines, cmd)
		}
	}
	if len(lines) != 1 || lines[0] != moduleOptions.command() {
		t.Fatalf("generate.go's go:generate directives are %q, want exactly %q", lines, moduleOptions.command())
	}
	return strings.Fields(strings.TrimPrefix(lines[0], "go run ./cmd/eventgen "))
}

// TestCommittedBindingsMatchHeaders is the drift check: generating from
// headers/ as generate.go's directive says must reproduce the committed
// files byte for byte, first line included.
func TestCommittedBindingsMatchHeaders(t *testing.T) {
	t.Chdir("..")
	args := directiveArgs(t)
	var out, errs bytes.Buffer
	if code := Main(append(args, "-check"), &out, &errs); code != 0 {
		t.Errorf("eventgen %s -check: exit %d: %s", strings.Join(args, " "), code, errs.String())
	}
	_, files, err := run(moduleOptions)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"eventring/zlayout_test.go", "execevents/zdecode.go", "execevents/zevents.go", "execevents/zjson.go", "execevents/zlayout_test.go",
		"execevents/ztyped.go", "execevents/ztypes.go"}
	for _, p := range want {
		if _, ok := files[filepath.FromSlash(p)]; !ok {
			t.Errorf("eventgen does not generate %s", p)
		}
	}
	for p, b := range files {
		if !strings.HasPrefix(p, "execevents"+string(filepath.Separator)) && p != filepath.FromSlash(moduleOptions.RingTest) {
			t.Errorf("eventgen writes %s, outside -out and -ring-test", p)
		}
		lines := strings.SplitN(string(b), "\n", 4)
		if len(lines) < 4 || lines[0] != "// "+moduleOptions.command() || lines[1] != "// "+generatedMarker ||
			lines[2] != "// Schema hash: 0x8933f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3." {
			t.Errorf("%s: header lines %q: want the command, the generated marker and the schema hash", p, lines[:3])
		}
	}
}

// TestHermeticGoRun runs eventgen as CI and go generate do, through the go
// command, with nothing but go on PATH (so no C compiler and cgo off) and
// no module proxy: it must build offline and find the committed files
// current.
func TestHermeticGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := t.TempDir()
	if err := os.Symlink(goBin, filepath.Join(bin, "go")); err != nil {
		t.Fatal(err)
	}
	t.Chdir("..")
	cmd := exec.Command(filepath.Join(bin, "go"), append(append([]string{"run", "./cmd/eventgen"}, directiveArgs(t)...), "-check")...)
	cmd.Env = append(os.Environ(), "PATH="+bin, "CC=", "CGO_ENABLED=", "GOPROXY=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s with only go on PATH: %v\n%s", cmd, err, out)
	}
}

// copyTree copies a directory tree to dst (created).
func copyTreeTo(t *testing.T, src, dst string, skip func(rel string) bool) {
	t.Helper()
	err := fs.WalkDir(os.DirFS(src), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip != nil && skip(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, p), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(src, p))
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the header tree to a temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "headers")
	copyTreeTo(t, src, dst, nil)
	return dst
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eventgen runs Main and returns its exit status and output.
func eventgen(args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = Main(args, &out, &errs)
	return code, out.String(), errs.String()
}

// TestCheck runs eventgen -check on a copy of the headers: it passes when
// nothing changed and fails, naming the stale files, when a header field or
// an event description changes, or when only a generated file's first
// line (the command) differs.
func TestCheck(t *testing.T) {
	root := copyTree(t, "../headers")
	out := filepath.Join(t.TempDir(), "execevents")
	args := []string{"-root", root, "-out", out}
	run := func(check bool) (int, string) {
		a := args
		if check {
			a = append(slices.Clip(a), "-check")
		}
		code, _, msg := eventgen(a...)
		return code, msg
	}
	if code, msg := run(true); code != 1 || !strings.Contains(msg, "ztypes.go") {
		t.Errorf("-check before generating: exit %d, %q; want 1 naming the missing files", code, msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-check created %s (%v)", out, err)
	}
	if code, msg := run(false); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, msg)
	}
	if code, msg := run(true); code != 0 {
		t.Errorf("-check with nothing changed: exit %d: %s", code, msg)
	}

	// The same headers under another root: the files' first line, the
	// command, differs, and -check compares whole files.
	other := copyTree(t, root)
	if code, _, msg := eventgen("-root", other, "-out", out, "-check"); code != 1 || !strings.Contains(msg, "ztypes.go") {
		t.Errorf("-check of identical headers under another -root: exit %d, %q; want 1 naming the files", code, msg)
	}
	// Only the first line of one file differs.
	zevents := filepath.Join(out, "zevents.go")
	orig, err := os.ReadFile(zevents)
	if err != nil {
		t.Fatal(err)
	}
	edit(t, zevents, "// go run ./cmd/eventgen ", "// go run ./cmd/eventgen -v ")
	if code, msg := run(true); code != 1 || !strings.Contains(msg, "zevents.go") || strings.Contains(msg, "ztypes.go") {
		t.Errorf("-check with only zevents.go's first line changed: exit %d, %q; want 1 naming zevents.go alone", code, msg)
	}
	if err := os.WriteFile(zevents, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	stale := filepath.Join(out, "zold.go")
	if err := os.WriteFile(stale, []byte("// go run ./cmd/eventgen\n// Code generated by eventgen. DO NOT EDIT.\n\npackage execevents\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A z*.go file that another tool generated is none of eventgen's
	// business.
	foreign := filepath.Join(out, "zother.go")
	if err := os.WriteFile(foreign, []byte("// Code generated by another tool. DO NOT EDIT.\n\npackage execevents\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, msg := run(true); code != 1 || !strings.Contains(msg, "zold.go (no longer generated)") {
		t.Errorf("-check with a stale generated file: exit %d, %q", code, msg)
	}
	if code, msg := run(false); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, msg)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("generating left the stale %s (%v)", stale, err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("generating removed another tool's %s: %v", foreign, err)
	}
	if code, msg := run(true); code != 0 {
		t.Errorf("-check after generating removed the stale file: exit %d: %s", code, msg)
	}

	ctypes := filepath.Join(root, "category/execution/ethereum/event/exec_event_ctypes.h")
	orig, _ = os.ReadFile(ctypes)
	edit(t, ctypes, "    uint64_t round;\n", "    uint32_t round;\n")
	code, msg := run(true)
	if code != 1 || !strings.Contains(msg, "ztypes.go") {
		t.Errorf("-check after a field change: exit %d, %q; want 1 naming ztypes.go", code, msg)
	}
	if err := os.WriteFile(ctypes, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, msg := run(true); code != 0 {
		t.Errorf("-check after restoring the field: exit %d: %s", code, msg)
	}

	meta := filepath.Join(root, "category/execution/ethereum/event/exec_event_ctypes_metadata.c")
	edit(t, meta, `"one call trace frame"`, `"one call trace "
            "frame (edited)"`)
	code, msg = run(true)
	if code != 1 || !strings.Contains(msg, "zevents.go") {
		t.Errorf("-check after a description change: exit %d, %q; want 1 naming zevents.go", code, msg)
	}
}

// fileState is what TestWritesOnlyWhereTold compares of a file.
type fileState struct {
	mtime time.Time
	sum   [32]byte
}

func treeState(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	r := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r[p] = fileState{info.ModTime(), sha256.Sum256(b)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWritesOnlyWhereTold runs eventgen in a copy of the module: with -out
// naming a directory (missing: it is created) it writes there and nowhere
// else, in particular not eventring/zlayout_test.go, which only -ring-test
// names.
func TestWritesOnlyWhereTold(t *testing.T) {
	mod := filepath.Join(t.TempDir(), "module")
	copyTreeTo(t, "..", mod, func(rel string) bool { return rel == ".git" })
	// Make the module's generated files stale, so that a run writing them
	// would change them.
	for _, p := range []string{"eventring/zlayout_test.go", "execevents/ztypes.go"} {
		edit(t, filepath.Join(mod, p), "// Code generated by eventgen. DO NOT EDIT.", "// Code generated by eventgen. DO NOT EDIT.\n// (stale)")
	}
	t.Chdir(mod)
	before := treeState(t, ".")
	time.Sleep(10 * time.Millisecond) // let a write show in mtimes

	if code, _, msg := eventgen("-root", "headers", "-out", "gen-out/a/foo", "-package", "foo"); code != 0 {
		t.Fatalf("eventgen -out gen-out/a/foo: exit %d: %s", code, msg)
	}
	after := treeState(t, ".")
	var written []string
	for p, s := range after {
		if b, ok := before[p]; !ok || b != s {
			written = append(written, filepath.ToSlash(p))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("eventgen -out gen-out/a/foo removed %s", p)
		}
	}
	slices.Sort(written)
	want := []string{"gen-out/a/foo/zdecode.go", "gen-out/a/foo/zevents.go", "gen-out/a/foo/zjson.go", "gen-out/a/foo/zlayout_test.go", "gen-out/a/foo/ztyped.go", "gen-out/a/foo/ztypes.go"}
	if !slices.Equal(written, want) {
		t.Errorf("eventgen -out gen-out/a/foo wrote %q, want %q", written, want)
	}
	b, err := os.ReadFile("gen-out/a/foo/ztypes.go")
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(b), "\n"); first != "// go run ./cmd/eventgen -root headers -out gen-out/a/foo -package foo" {
		t.Errorf("first line %q", first)
	}
	if !bytes.Contains(b, []byte("\npackage foo\n")) {
		t.Error("-package foo: the files are not in package foo")
	}

	// -ring-test names the eventring test; -package defaults to the
	// directory's name.
	if code, _, msg := eventgen("-root", "headers", "-out", "gen-out/bar", "-ring-test", "gen-out/ring/zlayout_test.go"); code != 0 {
		t.Fatalf("eventgen -out gen-out/bar -ring-test ...: exit %d: %s", code, msg)
	}
	for _, p := range []string{"gen-out/bar/ztypes.go", "gen-out/ring/zlayout_test.go"} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if b, _ := os.ReadFile("gen-out/bar/zevents.go"); !bytes.Contains(b, []byte("\npackage bar\n")) {
		t.Error("without -package the files are not in package bar (the -out directory's name)")
	}
	if after2 := treeState(t, "eventring"); after2["eventring/zlayout_test.go"] != before["eventring/zlayout_test.go"] {
		t.Error("eventring/zlayout_test.go changed")
	}
}

// TestUsage checks the flag combinations eventgen refuses (exit 2).
func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-out"},
		{[]string{"-check"}, "-out"},
		{[]string{"-out", "."}, "-package"},
		{[]string{"-out", "x", "-ring-test", "eventring"}, "_test.go"},
		{[]string{"-diff", "a", "-out", "x"}, "-out does not go with -diff"},
		{[]string{"-diff", "a", "-check"}, "-check does not go with -diff"},
		{[]string{"-diff", ""}, "-diff needs"},
		{[]string{"-dump-layout", "-out", "x"}, "-out does not go with -dump-layout"},
		{[]string{"-out", "x", "extra"}, "unexpected arguments"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
		{[]string{"-root", "/nonexistent/headers", "-out", "x"}, "/nonexistent/headers"},
		{[]string{"-root", "/nonexistent/headers", "-diff", "../headers"}, "/nonexistent/headers"},
	} {
		code, stdout, stderr := eventgen(c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("eventgen %q: exit %d, stdout %q, stderr %q; want 2 and a message with %q", c.args, code, stdout, stderr, c.want)
		}
	}
	code, _, stderr := eventgen("-h")
	if code != 0 || !strings.Contains(stderr, "-diff OLDROOT") || !strings.Contains(stderr, "no schema change") {
		t.Errorf("eventgen -h: exit %d, %q", code, stderr)
	}
}

// TestCheckWithoutOutputs: "eventgen -check" with no output flags, run from
// the module root, checks the outputs of generate.go's go:generate
// directive (the committed bindings); elsewhere it says to name -out.
func TestCheckWithoutOutputs(t *testing.T) {
	t.Chdir("..")
	var out, errb strings.Builder
	if code := Main([]string{"-check"}, &out, &errb); code != exitOK {
		t.Fatalf("eventgen -check in the module root: exit %d\n%s", code, errb.String())
	}
	t.Chdir(t.TempDir())
	errb.Reset()
	if code := Main([]string{"-check"}, &out, &errb); code != exitTrouble || !strings.Contains(errb.String(), "-out") {
		t.Fatalf("eventgen -check without generate.go: exit %d, %q; want 2 naming -out", code, errb.String())
	}
}
