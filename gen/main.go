package gen

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Options are the settings of one eventgen run.
type Options struct {
	Root    string // header tree
	Out     string // output directory of the bindings
	Package string // package name of the bindings
	RingOut string // eventring directory, for its layout test; "" for none
}

// DefaultOptions are eventgen's defaults, meant to be run from the module
// root: headers/ to execevents/, with eventring's layout test.
func DefaultOptions() Options {
	return Options{Root: "headers", Out: "execevents", Package: "execevents", RingOut: "eventring"}
}

// Command returns the command line, run from the module root, that
// reproduces these options; it is the first line of every generated file
// and, for the defaults, the go:generate directive of generate.go.
func (o Options) Command() string {
	s := fmt.Sprintf("go run ./cmd/eventgen -root %s -out %s -package %s", filepath.ToSlash(o.Root), filepath.ToSlash(o.Out), o.Package)
	switch o.RingOut {
	case "eventring":
	case "":
		s += ` -ring-out ""`
	default:
		s += " -ring-out " + filepath.ToSlash(o.RingOut)
	}
	return s
}

// Run builds the model of o.Root and renders the files, keyed by path.
func Run(o Options) (*Model, map[string][]byte, error) {
	m, err := Build(osDirFS(o.Root), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	files, err := Generate(m, Config{Package: o.Package, OutDir: o.Out, RingOutDir: o.RingOut, Command: o.Command()})
	return m, files, err
}

// Diff compares generated files with the disk and returns the paths that
// differ or are missing, and the z*.go files of the output directories
// that eventgen no longer generates. The first line of a file, the command
// that generated it, is not compared: checking a daemon checkout with
// -root must pass when its headers give the same bindings as headers/.
func Diff(files map[string][]byte) []string {
	var bad []string
	for _, p := range sortedKeys(files) {
		old, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(afterFirstLine(old), afterFirstLine(files[p])) {
			bad = append(bad, p)
		}
	}
	for _, p := range stale(files) {
		bad = append(bad, p+" (no longer generated)")
	}
	return bad
}

// stale returns the z*.go files of the output directories that eventgen
// generated (by their second line) but that are not among files.
func stale(files map[string][]byte) []string {
	var r []string
	dirs := map[string]bool{}
	for p := range files {
		dirs[filepath.Dir(p)] = true
	}
	for _, d := range sortedKeys(dirs) {
		zs, _ := filepath.Glob(filepath.Join(d, "z*.go"))
		for _, p := range zs {
			if _, ok := files[p]; ok {
				continue
			}
			if b, err := os.ReadFile(p); err == nil && bytes.HasPrefix(afterFirstLine(b), []byte("// "+generatedMarker+"\n")) {
				r = append(r, p)
			}
		}
	}
	return r
}

// Main is eventgen's main function; it returns the exit code.
func Main(o Options, check, dump bool, stdout, stderr io.Writer) int {
	m, files, err := Run(o)
	if err != nil {
		fmt.Fprintf(stderr, "eventgen: %v\n", err)
		return 1
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(stderr, "eventgen: warning: %s\n", w)
	}
	switch {
	case dump:
		b, err := m.LayoutJSON()
		if err != nil {
			fmt.Fprintf(stderr, "eventgen: %v\n", err)
			return 1
		}
		stdout.Write(b)
		return 0
	case check:
		if bad := Diff(files); len(bad) > 0 {
			fmt.Fprintf(stderr, "eventgen: generated files differ from %s (run go generate ./...):\n\t%s\n", o.Root, strings.Join(bad, "\n\t"))
			return 1
		}
		return 0
	}
	// Generated files the schema no longer yields go, so that a run
	// leaves what -check accepts.
	for _, p := range stale(files) {
		if err := os.Remove(p); err != nil {
			fmt.Fprintf(stderr, "eventgen: %v\n", err)
			return 1
		}
	}
	for _, p := range sortedKeys(files) {
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[p]) {
			continue // keep mtimes of unchanged files
		}
		if err := os.WriteFile(p, files[p], 0o644); err != nil {
			fmt.Fprintf(stderr, "eventgen: %v\n", err)
			return 1
		}
	}
	return 0
}

// afterFirstLine returns b without its first line.
func afterFirstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return nil
}
