//go:build linux && (amd64 || arm64)

package eventring

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

const platformSupported = true

// mapping is one reserved address range holding a whole ring: header,
// descriptors and payload buffer, followed by a second mapping of the
// payload buffer (spec §4.2).
type mapping struct {
	base   unsafe.Pointer // ring offset 0 (2 MiB aligned)
	addr   unsafe.Pointer // start of the reservation
	length uintptr        // length of the reservation
	closed bool
}

// mapRing maps the ring at file offset off of fd. The payload buffer is
// mapped twice back to back so that every payload is contiguous. The
// context area is not mapped (readers ignore it).
func mapRing(fd uintptr, off int64, sizes Sizes, writable, populate bool) (*mapping, error) {
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	flags := unix.MAP_SHARED | unix.MAP_FIXED
	if populate {
		flags |= unix.MAP_POPULATE
	}
	front := uintptr(HeaderSectionSize + sizes.DescriptorCapacity*DescriptorSize + sizes.PayloadBufSize)
	// Reserve the address space first (PROT_NONE, nothing committed), with
	// slack to align the start to 2 MiB: hugetlbfs mappings need it.
	length := front + uintptr(sizes.PayloadBufSize) + LargePageSize
	addr, err := unix.MmapPtr(-1, 0, nil, length, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserving %d bytes of address space: %w", length, err)
	}
	m := &mapping{addr: addr, length: length}
	pad := (LargePageSize - uintptr(addr)%LargePageSize) % LargePageSize
	m.base = unsafe.Add(addr, pad)
	if _, err := unix.MmapPtr(int(fd), off, m.base, front, prot, flags); err != nil {
		_ = m.unmap()
		return nil, fmt.Errorf("mapping ring sections: %w", err)
	}
	payOff := off + int64(HeaderSectionSize+sizes.DescriptorCapacity*DescriptorSize)
	if _, err := unix.MmapPtr(int(fd), payOff, unsafe.Add(m.base, front), uintptr(sizes.PayloadBufSize), prot, flags); err != nil {
		_ = m.unmap()
		return nil, fmt.Errorf("mapping payload buffer twice: %w", err)
	}
	return m, nil
}

// prefault maps the pages of [off, off+n) of the reservation (relative to
// base) in advance (MADV_POPULATE_READ). It is a hint: kernels before 5.14
// refuse it and the pages are then faulted in on first use.
func (m *mapping) prefault(off, n uintptr) {
	if n == 0 {
		return
	}
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(m.base, off)), n), unix.MADV_POPULATE_READ)
}

// retire replaces every mapping of the reservation by an inert image of
// private zero pages, releasing the file: its header holds no event and a
// buffer window start at its maximum, so that no payload is valid. The
// image is prepared elsewhere and moved over the reservation by one
// mremap, so a concurrent reader sees either the ring or the whole inert
// image, never zero pages with a zero window start (which would make
// PayloadValid accept the zeros). A writable image lets a writer racing
// Recorder.Close finish harmlessly. The address range itself is released
// by unmap.
func (m *mapping) retire(writable bool) error {
	if m.closed {
		return nil
	}
	img, err := unix.MmapPtr(-1, 0, nil, m.length, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return fmt.Errorf("eventring: releasing the ring mapping: %w", err)
	}
	hdr := (*ringHeader)(unsafe.Add(img, uintptr(m.base)-uintptr(m.addr)))
	hdr.Control.BufferWindowStart = ^uint64(0)
	if !writable {
		// The whole image at once: one VMA, as mremap requires.
		if err := unix.Mprotect(unsafe.Slice((*byte)(img), m.length), unix.PROT_READ); err != nil {
			_ = unix.MunmapPtr(img, m.length)
			return fmt.Errorf("eventring: releasing the ring mapping: %w", err)
		}
	}
	if _, err := unix.MremapPtr(img, m.length, m.addr, m.length, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED); err != nil {
		_ = unix.MunmapPtr(img, m.length)
		return fmt.Errorf("eventring: releasing the ring mapping: %w", err)
	}
	return nil
}

func (m *mapping) unmap() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.unregister()
	return unix.MunmapPtr(m.addr, m.length)
}

// fileInode returns the file's inode number (for /proc/locks matching).
func fileInode(f *os.File) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// memfdCreate returns an anonymous memory-backed file.
func memfdCreate(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// tryLockExclusive takes flock(LOCK_EX|LOCK_NB); errWouldBlock if held.
func tryLockExclusive(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errWouldBlock
	}
	return err
}

var errWouldBlock = errors.New("would block")

// renameNoReplace renames old to new, failing if new exists.
func renameNoReplace(oldpath, newpath string) error {
	return unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
}

// isHugetlbfs2M reports whether dir is on hugetlbfs with 2 MiB pages and
// accessible with read, write and execute permission (spec §6.1).
func isHugetlbfs2M(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	return st.Type == unix.HUGETLBFS_MAGIC && st.Bsize == LargePageSize &&
		unix.Access(dir, unix.R_OK|unix.W_OK|unix.X_OK) == nil
}

// pageSize is the alignment a ring offset inside a file must have.
var pageSize = int64(os.Getpagesize())
