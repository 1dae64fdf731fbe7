// Package archive reads and writes finalized block archives: the directory
// format in which the daemon SDK's block archiver (the preview branch's
// blockcapd, and `event-cli recordexec -f archive`) keeps one capture file
// per finalized block (evcap spec §12.9, §12.10):
//
//	<root>/
//	  <G>/<B>.bcap            block B; G = B − (B mod 10 000), decimal, no leading zeros
//	  .inprogress/            temporary files while a block is written
//	  last_finalized_block    8 bytes, u64 little-endian: the last block written
//
// Each <B>.bcap is a preview-layout evcap file: a SCHEMA, one EVENT_BUNDLE
// numbered B holding the block's events, and its SEQNO_INDEX. Archives
// written by the upstream tools and by this package are read by both.
//
// Like evcap, this package knows nothing of execution events: it stores
// and checks descriptors, payloads, content types and schema hashes. Which
// events make up a block is the caller's business (package blocks'
// Archiver selects them from a ring).
//
// Writing is atomic and never replaces: a block is written under
// .inprogress/, synced, then hard-linked to its final name, which fails if
// the name exists. So a file visible under its final name is complete, a
// block already present is never rewritten ([ErrExists]), and a crash
// leaves at most a stale temporary file, removed the next time the
// archive is opened for writing. One process writes an archive at a time
// ([Create] takes a lock); any number read it.
//
// A hostile or damaged directory (garbage names, symlinks, truncated or
// corrupt files, a file whose bundle claims another block) gives typed
// errors, never a panic: [*BlockError] wrapping [ErrNotFound],
// [ErrBadBlock] or the evcap reader's *evcap.FormatError.
package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
)

// Directory layout constants (evcap spec §12.10).
const (
	// FilesPerSubdir is the number of block numbers one subdirectory
	// covers: block B lives in subdirectory B − (B mod FilesPerSubdir).
	FilesPerSubdir = 10000
	// Ext is the block files' extension.
	Ext = ".bcap"
	// InProgressDir is the subdirectory of temporary files.
	InProgressDir = ".inprogress"
	// LastFinalizedFile holds the last block number written (u64 LE).
	LastFinalizedFile = "last_finalized_block"
)

// Errors. Problems with one block are *BlockError values wrapping one of
// these (or an *evcap.FormatError); test with errors.Is.
var (
	// ErrNotFound: the archive has no file for the block.
	ErrNotFound = errors.New("archive: block not in the archive")
	// ErrExists: WriteBlock found the block already archived; the file
	// present was left as it is.
	ErrExists = errors.New("archive: block already archived")
	// ErrBadBlock: the block's file is not a block archive file for it:
	// not a regular file, not the preview layout, no SCHEMA for the
	// content type, not exactly one bundle, or a bundle numbered with
	// another block.
	ErrBadBlock = errors.New("archive: invalid block file")
	// ErrNotArchive: the path is not a directory.
	ErrNotArchive = errors.New("archive: not an archive directory")
	// ErrLocked: another process has the archive open for writing.
	ErrLocked = errors.New("archive: another process is writing the archive")
	// ErrReadOnly: a write to an archive opened with Open.
	ErrReadOnly = errors.New("archive: opened read-only")
	// ErrClosed: the Dir was closed.
	ErrClosed = errors.New("archive: closed")
)

// BlockError reports a problem with one block of an archive.
type BlockError struct {
	Number uint64 // the block number
	Path   string // its file (may not exist)
	Err    error  // ErrNotFound, ErrExists, ErrBadBlock, an *evcap.FormatError, an I/O error, ...
}

// Error names the block, its file and the cause.
func (e *BlockError) Error() string {
	return fmt.Sprintf("archive: block %d (%s): %v", e.Number, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *BlockError) Unwrap() error { return e.Err }

// Options tune a Dir. The zero value reads and writes EXEC blocks the way
// blockcapd does by default.
type Options struct {
	// ContentType is the content type of the archived events: OpenBlock
	// requires a SCHEMA and the numbered bundle for it. 0 means
	// eventring.ContentTypeExec.
	ContentType eventring.ContentType
	// SchemaHash, when non-zero, is the schema hash OpenBlock requires of
	// that SCHEMA (an *eventring.SchemaError otherwise).
	SchemaHash [32]byte
	// Uncompressed writes plain bundles and indexes instead of zstd
	// (ZSTD_SINGLE_PASS, as blockcapd's defaults -z 3 -i 3 do).
	Uncompressed bool
	// Level is the zstd level (1..22); 0 means 3.
	Level int
	// NoSync skips the fsync calls that make a written block survive a
	// machine crash (a process crash loses nothing either way). For
	// scratch archives and tests only.
	NoSync bool
	// File bounds what reading one block file may allocate (sections,
	// decompressed sizes); its Layout is ignored (always preview).
	File evcap.OpenOptions
}

// Dir is an open archive directory. Its methods are safe for concurrent
// use; writes are serialized by the caller's single writing process.
type Dir struct {
	root     string
	opts     Options
	writable bool
	lock     *os.File // .inprogress, flocked while open for writing
}

// Open opens an existing archive directory for reading.
func Open(dir string, opts Options) (*Dir, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("archive: %s: %w", dir, ErrNotArchive)
	}
	return &Dir{root: dir, opts: opts.withDefaults()}, nil
}

// Create opens the archive directory dir for writing, creating it (and
// .inprogress) if needed. It takes an exclusive lock on the archive (a
// second writer gets ErrLocked; the lock dies with the process) and
// removes the temporary files a crashed writer left in .inprogress.
func Create(dir string, opts Options) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(dir, InProgressDir), 0o755); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	d, err := Open(dir, opts)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, InProgressDir)
	if st, err := os.Lstat(tmp); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("archive: %s is not a directory: %w", tmp, ErrNotArchive)
	}
	lock, err := os.Open(tmp)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("archive: %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("archive: locking %s: %w", tmp, err)
	}
	d.writable, d.lock = true, lock
	if err := d.cleanInProgress(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (o Options) withDefaults() Options {
	if o.ContentType == eventring.ContentTypeNone {
		o.ContentType = eventring.ContentTypeExec
	}
	if o.Level == 0 {
		o.Level = 3
	}
	o.File.Layout = evcap.LayoutPreview
	return o
}

// cleanInProgress removes what a crashed writer left in .inprogress: its
// files are incomplete by definition (a complete one was linked to its
// final name before it was removed).
func (d *Dir) cleanInProgress() error {
	tmp := filepath.Join(d.root, InProgressDir)
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
			if err := os.Remove(filepath.Join(tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("archive: removing a stale temporary file: %w", err)
			}
		}
	}
	return nil
}

// Close releases the write lock. It is idempotent.
func (d *Dir) Close() error {
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close() // closing the descriptor releases the flock
	d.lock = nil
	return err
}

// Path returns the archive's root directory.
func (d *Dir) Path() string { return d.root }

// Options returns the options in effect (defaults filled in).
func (d *Dir) Options() Options { return d.opts }

// Subdir returns the subdirectory name of block n ("15000000" for
// 15000001).
func Subdir(n uint64) string { return strconv.FormatUint(n-n%FilesPerSubdir, 10) }

// BlockPath returns the path of block n's file, whether it exists or not.
func (d *Dir) BlockPath(n uint64) string {
	return filepath.Join(d.root, Subdir(n), strconv.FormatUint(n, 10)+Ext)
}

// Has reports whether block n has a file (a regular file under its name;
// its contents are not checked).
func (d *Dir) Has(n uint64) bool {
	sub, err := os.Lstat(filepath.Join(d.root, Subdir(n)))
	if err != nil || !sub.IsDir() {
		return false
	}
	st, err := os.Lstat(d.BlockPath(n))
	return err == nil && st.Mode().IsRegular()
}

// OpenBlock opens block n's file and checks that it is one (spec §12.10):
// a regular file (symlinks are refused), of the preview layout, with a
// SCHEMA for the content type (and the schema hash, if Options name one),
// and exactly one EVENT_BUNDLE, of that content type, numbered n. The
// records themselves are checked as they are read (or at once by
// evcap.File.Verify; see VerifyBlock). Errors are *BlockError values.
// The caller closes the File.
func (d *Dir) OpenBlock(n uint64) (*evcap.File, error) {
	path := d.BlockPath(n)
	fail := func(err error) (*evcap.File, error) { return nil, &BlockError{Number: n, Path: path, Err: err} }
	if n == 0 {
		return fail(fmt.Errorf("block number 0 cannot be archived (0 means no block): %w", ErrBadBlock))
	}
	if sub, err := os.Lstat(filepath.Dir(path)); err != nil || !sub.IsDir() {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
		if err == nil {
			return fail(fmt.Errorf("%s is not a directory (%v): %w", filepath.Dir(path), sub.Mode().Type(), ErrBadBlock))
		}
		return fail(ErrNotFound)
	}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(ErrNotFound)
	case err != nil:
		return fail(err)
	case !st.Mode().IsRegular():
		return fail(fmt.Errorf("not a regular file (%v): %w", st.Mode().Type(), ErrBadBlock))
	}
	f, err := evcap.OpenWithOptions(path, d.opts.File)
	if err != nil {
		return fail(err)
	}
	if err := d.checkBlock(f, n); err != nil {
		f.Close()
		return fail(err)
	}
	return f, nil
}

// checkBlock applies spec §12.10's checks to an open file meant to hold
// block n.
func (d *Dir) checkBlock(f *evcap.File, n uint64) error {
	ct := d.opts.ContentType
	s, ok := f.Schema(ct)
	if !ok {
		return fmt.Errorf("no SCHEMA for content type %v: %w", ct, ErrBadBlock)
	}
	if d.opts.SchemaHash != ([32]byte{}) && s.Hash != d.opts.SchemaHash {
		return f.CheckSchema(ct, d.opts.SchemaHash)
	}
	b := f.Bundles()
	if len(b) != 1 {
		return fmt.Errorf("%d event bundles, want exactly one: %w", len(b), ErrBadBlock)
	}
	switch {
	case b[0].ContentType != ct:
		return fmt.Errorf("the bundle's content type is %v, want %v: %w", b[0].ContentType, ct, ErrBadBlock)
	case b[0].BlockNumber != n:
		return fmt.Errorf("the bundle holds block %d: %w", b[0].BlockNumber, ErrBadBlock)
	case b[0].EventCount == 0:
		return fmt.Errorf("the bundle holds no event: %w", ErrBadBlock)
	}
	return nil
}

// VerifyBlock opens block n and reads all of it, checking every record and
// index entry (evcap.File.Verify) besides what OpenBlock checks.
func (d *Dir) VerifyBlock(ctx context.Context, n uint64) error {
	f, err := d.OpenBlock(n)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Verify(ctx); err != nil {
		return &BlockError{Number: n, Path: d.BlockPath(n), Err: err}
	}
	return nil
}

// LastFinalized returns the number in last_finalized_block and whether
// the file exists. The file is what blockcapd maintains (and WriteBlock
// too); the blocks actually present are what Blocks lists.
func (d *Dir) LastFinalized() (uint64, bool, error) {
	p := filepath.Join(d.root, LastFinalizedFile)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	var b [9]byte
	k, err := io.ReadFull(f, b[:])
	if k != 8 || (err != nil && !errors.Is(err, io.ErrUnexpectedEOF)) {
		return 0, false, fmt.Errorf("archive: %s: %d bytes, want 8: %w", p, k, ErrNotArchive)
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, true, nil
}
