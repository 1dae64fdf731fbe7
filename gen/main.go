package gen

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// options are the settings of one generating eventgen run. Every output is
// named: nothing is written outside Out and RingTest.
type options struct {
	Root    string // header tree
	Out     string // output directory of the bindings, created when missing
	Package string // package name of the bindings
	// RingTest is the path of the generated layout test of package
	// eventring (eventring/zlayout_test.go in this module); "" for none.
	RingTest string
}

// command returns the command line, run from the module root, that
// reproduces these options: the first line of every generated file, and
// the go:generate directive of generate.go.
func (o options) command() string {
	s := fmt.Sprintf("go run ./cmd/eventgen -root %s -out %s -package %s", shellQuote(o.Root), shellQuote(o.Out), o.Package)
	if o.RingTest != "" {
		s += " -ring-test " + shellQuote(o.RingTest)
	}
	return s
}

// shellQuote returns a path as a shell word, slash-separated.
func shellQuote(p string) string {
	p = filepath.ToSlash(p)
	if p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+,:@~=") == "" {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// run builds the model of o.Root and renders the files, keyed by path.
func run(o options) (*model, map[string][]byte, error) {
	m, err := buildModel(osDirFS(o.Root), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	files, err := generate(m, config{Package: o.Package, OutDir: o.Out, RingTest: o.RingTest, Command: o.command()})
	return m, files, err
}

// changedFiles compares generated files, whole, with the disk and returns
// the paths that differ or are missing, and the files of the output
// directories that eventgen generated but no longer generates.
func changedFiles(files map[string][]byte) []string {
	var bad []string
	for _, p := range sortedKeys(files) {
		old, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(old, files[p]) {
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

// writeFiles writes the generated files, creating their directories, and
// removes the files eventgen generated there before but no longer does, so
// that a run leaves what -check accepts. Unchanged files keep their mtime.
func writeFiles(files map[string][]byte) error {
	for _, p := range stale(files) {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	for _, p := range sortedKeys(files) {
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[p]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// afterFirstLine returns b without its first line.
func afterFirstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return nil
}

// Exit statuses of Main, as diff(1) has them.
const (
	exitOK      = 0 // done; -check: files current; -diff: same schema
	exitDiffers = 1 // -check: files differ; -diff: the schemas differ
	exitTrouble = 2 // bad flags, headers that do not parse, I/O errors
)

const usageText = `usage:
  eventgen -root DIR -out DIR [-package NAME] [-ring-test FILE] [-check]
  eventgen [-root DIR] [-check]    (outputs of generate.go's go:generate directive)
  eventgen -diff OLDROOT [-root NEWROOT]
  eventgen -dump-layout [-root DIR]

Generates layout-exact Go bindings for the Monad execution event schema
from a tree of the daemon's C headers (the project's headers/ or a daemon
checkout), writing only the outputs named by -out and -ring-test. Without
-out, run from the module root, the outputs are those the go:generate
directive of generate.go names.

-check generates in memory and compares whole files, the first line (the
generating command) included, with the disk; it writes nothing.

-diff compares the schema of two header trees, not their text: the layout
model of OLDROOT (old) with that of -root (new). It prints one line per
schema change (events added, removed or renamed, payload types and sizes,
trailing arrays, struct sizes, alignments and fields with their types,
offsets and sizes, enum values, constants, the schema hash), then the
changed event descriptions, which are not schema, and a summary line such
as "no schema change" or "no schema change (only descriptions differ)".
Comments are not compared. The committed bindings are generated from
headers/ (go generate; CI checks it), so headers/ stands for them:
"-diff headers -root /path/to/monad" tells what a daemon upgrade changes,
and "-diff OLDROOT" alone compares OLDROOT with the committed bindings.

Exit status: 0 when done (-check: files current; -diff: same schema), 1
when -check finds files that differ or -diff finds schema changes, 2 on
trouble (bad flags, headers that do not parse, I/O errors).

Flags:
`

// Main is eventgen: it parses the command line args (without the program
// name) and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eventgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.Root, "root", "headers", "`dir`ectory of the C header tree: the project's headers/ or a daemon checkout (with -diff: the new tree)")
	fs.StringVar(&o.Out, "out", "", "output `dir`ectory of the bindings, created when missing (default: the outputs of generate.go's go:generate directive, from the module root)")
	fs.StringVar(&o.Package, "package", "", "package `name` of the bindings (default: the last element of -out)")
	fs.StringVar(&o.RingTest, "ring-test", "", "`file` to write package eventring's generated layout test to (eventring/zlayout_test.go); none when not given")
	check := fs.Bool("check", false, "generate in memory and compare whole files with the disk, writing nothing; exit 1 listing what differs")
	diff := fs.String("diff", "", "compare the schema of header tree `OLDROOT` with that of -root and print what changed; exit 1 if the schemas differ")
	dump := fs.Bool("dump-layout", false, "print the layout model of -root as JSON (the shape of exec-layout.json) and exit")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitTrouble
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "eventgen: "+format+"\n", a...)
		fmt.Fprintln(stderr, "run eventgen -h for usage")
		return exitTrouble
	}
	if fs.NArg() != 0 {
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	only := func(mode string) int {
		for _, name := range []string{"out", "package", "ring-test", "check", "diff", "dump-layout"} {
			if set[name] && name != mode {
				return usage("-%s does not go with -%s", name, mode)
			}
		}
		return exitOK
	}
	switch {
	case set["diff"]:
		if code := only("diff"); code != exitOK {
			return code
		}
		if *diff == "" {
			return usage("-diff needs the old header tree")
		}
		return diffMain(*diff, o.Root, stdout, stderr)
	case *dump:
		if code := only("dump-layout"); code != exitOK {
			return code
		}
		m, err := buildModel(osDirFS(o.Root), nil, nil)
		if err != nil {
			fmt.Fprintf(stderr, "eventgen: %s: %v\n", o.Root, err)
			return exitTrouble
		}
		warn(stderr, "", m)
		b, err := m.layoutJSON()
		if err != nil {
			fmt.Fprintf(stderr, "eventgen: %v\n", err)
			return exitTrouble
		}
		stdout.Write(b)
		return exitOK
	}
	if o.Out == "" {
		if set["package"] || set["ring-test"] {
			return usage("name the output directory with -out")
		}
		// No outputs named: take them from the go:generate directive of
		// generate.go here (the module root), so that "eventgen -check"
		// checks, and "eventgen" regenerates, what go generate writes.
		dargs, err := generateDirective("generate.go")
		if err != nil {
			return usage("name the output directory with -out (or use -diff or -dump-layout): %v", err)
		}
		if set["root"] {
			dargs = append(dargs, "-root", o.Root) // the later -root wins
		}
		if *check {
			dargs = append(dargs, "-check")
		}
		return Main(dargs, stdout, stderr)
	}
	if o.Package == "" {
		o.Package = filepath.Base(filepath.Clean(o.Out))
	}
	if !token.IsIdentifier(o.Package) {
		return usage("package name %q is not a Go identifier: give -package", o.Package)
	}
	if o.RingTest != "" && !strings.HasSuffix(o.RingTest, "_test.go") {
		return usage("-ring-test %s: the eventring layout test is a _test.go file", o.RingTest)
	}
	m, files, err := run(o)
	if err != nil {
		fmt.Fprintf(stderr, "eventgen: %s: %v\n", o.Root, err)
		return exitTrouble
	}
	warn(stderr, "", m)
	if *check {
		if bad := changedFiles(files); len(bad) > 0 {
			fmt.Fprintf(stderr, "eventgen: generated files differ from what `%s` generates (run it, or go generate ./...):\n\t%s\n", o.command(), strings.Join(bad, "\n\t"))
			return exitDiffers
		}
		return exitOK
	}
	if err := writeFiles(files); err != nil {
		fmt.Fprintf(stderr, "eventgen: %v\n", err)
		return exitTrouble
	}
	return exitOK
}

// warn prints a model's warnings, prefixed with the tree they concern.
func warn(stderr io.Writer, root string, m *model) {
	if root != "" {
		root += ": "
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(stderr, "eventgen: warning: %s%s\n", root, w)
	}
}

// diffMain is eventgen -diff: it compares the schemas of two header trees.
func diffMain(oldRoot, newRoot string, stdout, stderr io.Writer) int {
	var models [2]*model
	for i, root := range []string{oldRoot, newRoot} {
		m, err := buildModel(osDirFS(root), nil, nil)
		if err != nil {
			fmt.Fprintf(stderr, "eventgen: %s: %v\n", root, err)
			return exitTrouble
		}
		warn(stderr, root, m)
		models[i] = m
	}
	d := diffSchemas(models[0], models[1])
	var b strings.Builder
	for _, l := range d.Schema {
		b.WriteString(l + "\n")
	}
	for _, l := range d.Descriptions {
		b.WriteString(l + "\n")
	}
	b.WriteString(d.summary() + "\n")
	io.WriteString(stdout, b.String())
	if len(d.Schema) > 0 {
		return exitDiffers
	}
	return exitOK
}

// generateDirective returns the arguments of the eventgen go:generate directive
// of the file at path: the single line "//go:generate go run ./cmd/eventgen ...".
func generateDirective(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var found [][]string
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "//go:generate go run ./cmd/eventgen"); ok {
			found = append(found, strings.Fields(rest))
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%s has %d eventgen go:generate directives, want 1", path, len(found))
	}
	if slices.Contains(found[0], "-check") || !slices.Contains(found[0], "-out") {
		return nil, fmt.Errorf("%s: the eventgen directive names no -out", path)
	}
	return found[0], nil
}
