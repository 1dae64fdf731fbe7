package gen

import (
	"embed"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"testing/fstest"
)

// libc is the tiny C library the schema headers may include. Embedding it
// keeps the generator hermetic: what a machine has installed never changes
// its output, and no C compiler is needed.
//
//go:embed libc
var libc embed.FS

const (
	libcDir = "libc" // SysIncludePaths entry of the embedded headers
	srcDir  = "src"  // mount point of the header tree
)

// sourceFS serves the embedded libc under libc/ and the header tree under
// src/, the latter lowered by [lower] as it is read.
type sourceFS struct {
	root  fs.FS
	mu    sync.Mutex
	files map[string][]byte
	// consts collects the constexpr declarations of every file read.
	consts []constexprDecl
	// order lists the files of the tree in the order first read; guards
	// maps a file to the name of its include guard macro, if it has one.
	order  []string
	guards map[string]string
	err    error
}

func newSourceFS(root fs.FS) *sourceFS {
	return &sourceFS{root: root, files: map[string][]byte{}, guards: map[string]string{}}
}

func (s *sourceFS) Open(name string) (fs.File, error) {
	switch {
	case strings.HasPrefix(name, libcDir+"/"):
		return libc.Open(name)
	case strings.HasPrefix(name, srcDir+"/"):
		rel := strings.TrimPrefix(name, srcDir+"/")
		s.mu.Lock()
		defer s.mu.Unlock()
		data, ok := s.files[rel]
		if !ok {
			raw, err := fs.ReadFile(s.root, rel)
			if err != nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			var consts []constexprDecl
			data, consts, err = lower(rel, raw)
			if err != nil {
				if s.err == nil {
					s.err = err
				}
				return nil, err
			}
			s.consts = append(s.consts, consts...)
			s.files[rel] = data
			s.order = append(s.order, rel)
			if g := includeGuard(raw); g != "" {
				s.guards[rel] = g
			}
		}
		return fstest.MapFS{path.Base(name): {Data: data, Mode: 0o444}}.Open(path.Base(name))
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// osDirFS opens a header tree on disk.
func osDirFS(dir string) fs.FS { return os.DirFS(dir) }

// includeGuard returns NAME when the first two directives of a file are
// #ifndef NAME (or #if !defined NAME) and #define NAME: the classic include
// guard, whose macro is no schema constant even when defined to a value.
func includeGuard(src []byte) string {
	var dirs [][]string
	for _, line := range strings.Split(string(stripComments(src)), "\n") {
		f := strings.Fields(strings.NewReplacer("#", " # ", "(", " ", ")", " ", "!", " ! ").Replace(line))
		if len(f) == 0 {
			continue
		}
		if f[0] != "#" {
			return "" // code before the guard
		}
		dirs = append(dirs, f[1:])
		if len(dirs) == 2 {
			break
		}
	}
	if len(dirs) < 2 || len(dirs[1]) < 2 || dirs[1][0] != "define" {
		return ""
	}
	name := dirs[1][1]
	switch d := dirs[0]; {
	case len(d) == 2 && d[0] == "ifndef" && d[1] == name,
		len(d) == 4 && d[0] == "if" && d[1] == "!" && d[2] == "defined" && d[3] == name:
		return name
	}
	return ""
}

// stripComments replaces the comments of C source by spaces, keeping
// newlines and literals.
func stripComments(src []byte) []byte {
	var out []byte
	for i := 0; i < len(src); {
		j := skipLiteral(src, i)
		switch {
		case j == i:
			out = append(out, src[i])
			i++
			continue
		case src[i] == '/':
			for _, c := range src[i:j] {
				if c == '\n' {
					out = append(out, '\n')
				}
			}
			out = append(out, ' ')
		default:
			out = append(out, src[i:j]...)
		}
		i = j
	}
	return out
}
