package eventring

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// DefaultExecRingName is the file name of the daemon's execution event
	// ring (spec §6.1).
	DefaultExecRingName = "monad-exec-events"
	// DefaultRingDirName is the directory, on a hugetlbfs mount, holding
	// event rings.
	DefaultRingDirName = "event-rings"
)

// procLocksPath is where Linux lists file locks; a variable for tests.
var procLocksPath = "/proc/locks"

// ResolvePath turns a ring name into a path (spec §6.2): a name containing
// a "/" is used verbatim; a pure file name is placed in the default ring
// directory, DefaultRingDirName on the first accessible hugetlbfs mount with
// 2 MiB pages (created with mode 0775 if missing). It fails with
// ErrNoHugetlbfs when there is no such mount.
func ResolvePath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	dir, err := DefaultRingDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// ResolvePathIn is ResolvePath with an explicit default directory dir,
// which is created (mode 0775) if missing when name is a pure file name.
func ResolvePathIn(name, dir string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	if err := os.MkdirAll(dir, 0o775); err != nil {
		return "", fmt.Errorf("eventring: %w", err)
	}
	return filepath.Join(dir, name), nil
}

// DefaultRingDir returns (creating it if needed) the default ring directory
// <mount>/event-rings, where <mount> is the first mount point in
// /proc/mounts on hugetlbfs with 2 MiB pages that the caller can read,
// write and search.
func DefaultRingDir() (string, error) {
	data, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoHugetlbfs, err)
	}
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[2] != "hugetlbfs" {
			continue
		}
		mnt := unescapeMount(fields[1])
		if !isHugetlbfs2M(mnt) {
			continue
		}
		dir := filepath.Join(mnt, DefaultRingDirName)
		if err := os.MkdirAll(dir, 0o775); err != nil {
			return "", fmt.Errorf("eventring: %w", err)
		}
		return dir, nil
	}
	return "", ErrNoHugetlbfs
}

// unescapeMount undoes the octal escapes (\040 for space) of /proc/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// WriterPIDs returns the process ids holding a flock on the ring file at
// path (spec §6.4): the daemon holds LOCK_EX for its whole life, so an empty
// result means the ring has no live writer (a zombie). Readers never lock
// ring files. Linux only.
func WriterPIDs(path string) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eventring: %w", err)
	}
	defer f.Close()
	ino, err := fileInode(f)
	if err != nil {
		return nil, fmt.Errorf("eventring: %s: %w", path, err)
	}
	return lockHolders(ino)
}

// WriterPIDs returns the process ids holding a flock on the live ring's
// file (nil for a snapshot).
func (r *Ring) WriterPIDs() ([]int, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if r.snapshot {
		return nil, nil
	}
	return lockHolders(r.ino)
}

// lockHolders parses /proc/locks for granted FLOCK ADVISORY locks (WRITE or
// READ) on inode ino, device numbers ignored, as the C library does.
func lockHolders(ino uint64) ([]int, error) {
	data, err := os.ReadFile(procLocksPath)
	if err != nil {
		return nil, fmt.Errorf("eventring: %w", err)
	}
	return parseProcLocks(data, ino), nil
}

func parseProcLocks(data []byte, ino uint64) []int {
	var pids []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// "12: FLOCK  ADVISORY  WRITE 4242 00:2f:1838 0 EOF"; blocked
		// waiters have "->" as token 1 and never match.
		if len(f) < 6 || f[1] != "FLOCK" || f[2] != "ADVISORY" || (f[3] != "WRITE" && f[3] != "READ") {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil {
			continue
		}
		parts := strings.Split(f[5], ":")
		if len(parts) != 3 {
			continue
		}
		if n, err := strconv.ParseUint(parts[2], 10, 64); err == nil && n == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}
