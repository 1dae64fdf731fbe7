//go:build !(linux && (amd64 || arm64))

package eventring

import (
	"errors"
	"os"
	"unsafe"
)

const platformSupported = false

type mapping struct {
	base, addr unsafe.Pointer
	length     uintptr
}

func mapRing(fd uintptr, off int64, sizes Sizes, writable, populate bool) (*mapping, error) {
	return nil, ErrUnsupported
}

func (m *mapping) unmap() error { return nil }

func (m *mapping) prefault(off, n uintptr) {}

func (m *mapping) retire(writable bool) error { return nil }

func fileInode(f *os.File) (uint64, error) { return 0, ErrUnsupported }

func memfdCreate(name string) (*os.File, error) { return nil, ErrUnsupported }

func tryLockExclusive(f *os.File) error { return ErrUnsupported }

var errWouldBlock = errors.New("would block")

func renameNoReplace(oldpath, newpath string) error { return ErrUnsupported }

func isHugetlbfs2M(dir string) bool { return false }

var pageSize = int64(os.Getpagesize())
