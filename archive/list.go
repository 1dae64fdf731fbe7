package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Enumeration follows spec §12.10: the numeric subdirectories of the root,
// then in each the names "<decimal>.bcap". Unlike the upstream scan it
// counts subdirectory "0" (blocks 1..9 999) like any other, and requires
// the literal ".bcap" suffix (upstream's sscanf("%lu.bcap") accepts any
// name that merely begins with a number). It also requires canonical
// decimals (no sign, no leading zeros), regular files (symlinks are not
// blocks), a subdirectory that is a multiple of FilesPerSubdir and files
// in the subdirectory of their number; anything else is not a block and is
// skipped without error.

// readChunk is how many directory entries are read at a time, so that a
// directory full of garbage names costs no more memory than this.
const readChunk = 1024

// parseDecimal parses a canonical decimal u64 (no sign, no leading zeros
// except "0" itself).
func parseDecimal(s string) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// scanDir calls keep for every entry of dir, reading it in chunks.
func scanDir(dir string, keep func(fs.DirEntry)) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		ents, err := f.ReadDir(readChunk)
		for _, e := range ents {
			keep(e)
		}
		if errors.Is(err, io.EOF) || (err == nil && len(ents) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// subdirs returns the archive's block subdirectories, sorted by number.
func (d *Dir) subdirs() ([]uint64, error) {
	var gs []uint64
	err := scanDir(d.root, func(e fs.DirEntry) {
		if !e.IsDir() { // a symlink to a directory is not IsDir
			return
		}
		if g, ok := parseDecimal(e.Name()); ok && g%FilesPerSubdir == 0 {
			gs = append(gs, g)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	slices.Sort(gs)
	return gs, nil
}

// blocksIn returns the block numbers with a file in subdirectory g,
// sorted.
func (d *Dir) blocksIn(g uint64) ([]uint64, error) {
	var ns []uint64
	err := scanDir(filepath.Join(d.root, strconv.FormatUint(g, 10)), func(e fs.DirEntry) {
		if !e.Type().IsRegular() {
			return
		}
		num, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok {
			return
		}
		if n, ok := parseDecimal(num); ok && n != 0 && n-n%FilesPerSubdir == g {
			ns = append(ns, n)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	slices.Sort(ns)
	return ns, nil
}

// All returns an iterator over the archived block numbers, in increasing
// order. It holds one subdirectory's numbers (at most FilesPerSubdir) at a
// time. An error reading a directory ends the iteration.
func (d *Dir) All() iter.Seq2[uint64, error] {
	return func(yield func(uint64, error) bool) {
		gs, err := d.subdirs()
		if err != nil {
			yield(0, err)
			return
		}
		for _, g := range gs {
			ns, err := d.blocksIn(g)
			if err != nil {
				yield(0, err)
				return
			}
			for _, n := range ns {
				if !yield(n, nil) {
					return
				}
			}
		}
	}
}

// Blocks returns the archived block numbers, sorted.
func (d *Dir) Blocks() ([]uint64, error) {
	var out []uint64
	for n, err := range d.All() {
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Bounds returns the lowest and highest archived block numbers and how
// many blocks there are (0 for an empty archive).
func (d *Dir) Bounds() (lowest, highest uint64, count int, err error) {
	for n, err := range d.All() {
		if err != nil {
			return 0, 0, 0, err
		}
		if count == 0 {
			lowest = n
		}
		highest = n
		count++
	}
	return lowest, highest, count, nil
}

// Highest returns the highest archived block number, and false for an
// empty archive. It reads only the highest non-empty subdirectory.
func (d *Dir) Highest() (uint64, bool, error) {
	gs, err := d.subdirs()
	if err != nil {
		return 0, false, err
	}
	for i := len(gs) - 1; i >= 0; i-- {
		ns, err := d.blocksIn(gs[i])
		if err != nil {
			return 0, false, err
		}
		if len(ns) > 0 {
			return ns[len(ns)-1], true, nil
		}
	}
	return 0, false, nil
}

// Range is an inclusive range of block numbers.
type Range struct{ From, To uint64 }

// String returns "From-To", or "From" for a single block.
func (r Range) String() string {
	if r.From == r.To {
		return strconv.FormatUint(r.From, 10)
	}
	return strconv.FormatUint(r.From, 10) + "-" + strconv.FormatUint(r.To, 10)
}

// Len returns the number of blocks in the range.
func (r Range) Len() uint64 { return r.To - r.From + 1 }

// Missing returns the ranges of block numbers in [from, to] that have no
// file, in order. from > to gives none.
func (d *Dir) Missing(from, to uint64) ([]Range, error) {
	var out []Range
	if from > to {
		return nil, nil
	}
	next := from // lowest number not yet accounted for
	for n, err := range d.All() {
		if err != nil {
			return nil, err
		}
		if n < next {
			continue
		}
		if n > to {
			break
		}
		if n > next {
			out = append(out, Range{next, n - 1})
		}
		if n == to {
			return out, nil
		}
		next = n + 1
	}
	return append(out, Range{next, to}), nil
}
