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
// src/, the latter lowered by [Lower] as it is read.
type sourceFS struct {
	root  fs.FS
	mu    sync.Mutex
	files map[string][]byte
	// consts collects the constexpr declarations of every file read.
	consts []Constexpr
	err    error
}

func newSourceFS(root fs.FS) *sourceFS {
	return &sourceFS{root: root, files: map[string][]byte{}}
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
			var consts []Constexpr
			data, consts, err = Lower(rel, raw)
			if err != nil {
				if s.err == nil {
					s.err = err
				}
				return nil, err
			}
			s.consts = append(s.consts, consts...)
			s.files[rel] = data
		}
		return fstest.MapFS{path.Base(name): {Data: data, Mode: 0o444}}.Open(path.Base(name))
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// osDirFS opens a header tree on disk.
func osDirFS(dir string) fs.FS { return os.DirFS(dir) }
