package gen

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedBindingsMatchHeaders is the drift check: generating from
// headers/ with eventgen's defaults must reproduce the committed files
// byte for byte.
func TestCommittedBindingsMatchHeaders(t *testing.T) {
	t.Chdir("..")
	_, files, err := Run(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if bad := Diff(files); len(bad) > 0 {
		t.Errorf("generated bindings differ from the committed files (run go generate ./...): %s", strings.Join(bad, ", "))
	}
	// The first line of every file is the go:generate directive's command.
	gogen, err := os.ReadFile("generate.go")
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range files {
		first, _, _ := strings.Cut(string(b), "\n")
		if cmd := strings.TrimPrefix(first, "// "); !strings.Contains(string(gogen), "\n//go:generate "+cmd+"\n") {
			t.Errorf("%s: first line %q is not generate.go's go:generate command", p, first)
		}
	}
	for _, want := range []string{"execevents/ztypes.go", "execevents/zevents.go", "execevents/zdecode.go", "execevents/zlayout_test.go", "eventring/zlayout_test.go"} {
		if _, ok := files[want]; !ok {
			t.Errorf("eventgen does not generate %s", want)
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
	cmd := exec.Command(filepath.Join(bin, "go"), "run", "./cmd/eventgen", "-check")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PATH="+bin, "CC=", "CGO_ENABLED=", "GOPROXY=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./cmd/eventgen -check with only go on PATH: %v\n%s", err, out)
	}
}

// copyTree copies the header tree to a temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "headers")
	err := fs.WalkDir(os.DirFS(src), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, p), 0o755)
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

// TestCheck runs eventgen -check on a copy of the headers: it passes when
// nothing changed and fails, naming the stale files, when a header field or
// an event description changes.
func TestCheck(t *testing.T) {
	root := copyTree(t, "../headers")
	o := Options{Root: root, Out: filepath.Join(t.TempDir(), "execevents"), Package: "execevents"}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(check bool) (int, string) {
		var out, errs bytes.Buffer
		code := Main(o, check, false, &out, &errs)
		return code, errs.String()
	}
	if code, msg := run(true); code != 1 || !strings.Contains(msg, "ztypes.go") {
		t.Errorf("-check before generating: exit %d, %q; want 1 naming the missing files", code, msg)
	}
	if code, msg := run(false); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, msg)
	}
	if code, msg := run(true); code != 0 {
		t.Errorf("-check with nothing changed: exit %d: %s", code, msg)
	}

	// The same headers under another root: only the command line in the
	// files' first line differs, which -check ignores.
	other := copyTree(t, root)
	var out, errs bytes.Buffer
	if code := Main(Options{Root: other, Out: o.Out, Package: o.Package}, true, false, &out, &errs); code != 0 {
		t.Errorf("-check of identical headers under another -root: exit %d: %s", code, errs.String())
	}

	stale := filepath.Join(o.Out, "zold.go")
	if err := os.WriteFile(stale, []byte("package execevents\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, msg := run(true); code != 1 || !strings.Contains(msg, "zold.go (no longer generated)") {
		t.Errorf("-check with a stale generated file: exit %d, %q", code, msg)
	}
	os.Remove(stale)

	ctypes := filepath.Join(root, "category/execution/ethereum/event/exec_event_ctypes.h")
	orig, _ := os.ReadFile(ctypes)
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
