package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
)

// Source reads the events of an archive's blocks as one
// [eventring.Source], block after block in number order: what the block
// builder, the commit tracker and the commands read from a ring they read
// from an archive the same way. Each block's events are the finalized
// proposal's BLOCK_START through BLOCK_END (spec §12.9); the consensus
// events between blocks were not archived, so sequence numbers jump from
// one block to the next, which is not a gap.
//
// The blocks are those present when the Source was made (or last
// refreshed, see Refresh); Next returns io.EOF after the last. A block
// file that fails to open or read ends the reading with its
// *BlockError. A Source is not safe for concurrent use.
type Source struct {
	d      *Dir
	blocks []uint64 // block numbers to read, ascending
	i      int      // index in blocks of the file open (or to open next)
	f      *evcap.File
	src    *evcap.Source
	last   uint64 // number of the last block read from
}

// NewSource returns a Source over the blocks numbered above after (0: all).
func (d *Dir) NewSource(after uint64) (*Source, error) {
	s := &Source{d: d}
	if err := s.Refresh(after); err != nil {
		return nil, err
	}
	return s, nil
}

// Refresh lists the archive again: the Source goes on with the blocks
// numbered above after (usually the last block read: Block) present now.
// The block being read, if any, is read to its end first only if it is
// still numbered above after.
func (s *Source) Refresh(after uint64) error {
	all, err := s.d.Blocks()
	if err != nil {
		return err
	}
	i, _ := slices.BinarySearch(all, after+1)
	s.blocks, s.i = all[i:], 0
	if s.f != nil && (s.last <= after) {
		s.closeFile()
	}
	if s.f != nil {
		// Keep reading the open block; the list starts after it.
		j, _ := slices.BinarySearch(s.blocks, s.last+1)
		s.blocks = s.blocks[j:]
	}
	return nil
}

func (s *Source) closeFile() {
	if s.f != nil {
		s.f.Close()
		s.f, s.src = nil, nil
	}
}

// Next reads the next event's descriptor into d: the next one of the block
// being read, or the first of the next block.
func (s *Source) Next(ctx context.Context, d *eventring.Descriptor) error {
	for {
		if s.src == nil {
			if s.i == len(s.blocks) {
				return io.EOF
			}
			if err := s.open(s.blocks[s.i]); err != nil {
				return err
			}
			s.i++
		}
		err := s.src.Next(ctx, d)
		if errors.Is(err, io.EOF) {
			s.closeFile()
			continue
		}
		if err != nil {
			return &BlockError{Number: s.last, Path: s.d.BlockPath(s.last), Err: err}
		}
		return nil
	}
}

func (s *Source) open(n uint64) error {
	f, err := s.d.OpenBlock(n)
	if err != nil {
		return err
	}
	s.f, s.src, s.last = f, f.NewSource(), n
	return nil
}

// Seek positions the source so that the next Next returns the event with
// sequence number seqno of the block being read (or of a later block in
// the list). The error wraps ErrNotFound when no such block holds it.
func (s *Source) Seek(seqno uint64) error {
	if s.src != nil && s.src.Seek(seqno) == nil {
		return nil
	}
	for j := s.i; j < len(s.blocks); j++ {
		f, err := s.d.OpenBlock(s.blocks[j])
		if err != nil {
			return err
		}
		src := f.NewSource()
		if src.Seek(seqno) == nil {
			s.closeFile()
			s.f, s.src, s.last, s.i = f, src, s.blocks[j], j+1
			return nil
		}
		f.Close()
	}
	return fmt.Errorf("%w: no block holds event %d", ErrNotFound, seqno)
}

// Payload returns the payload of d if d is the event read last.
func (s *Source) Payload(d *eventring.Descriptor) []byte {
	if s.src == nil {
		return nil
	}
	return s.src.Payload(d)
}

// PayloadValid reports whether d is the event read last.
func (s *Source) PayloadValid(d *eventring.Descriptor) bool {
	return s.src != nil && s.src.PayloadValid(d)
}

// Block returns the number of the block the last event came from (0
// before the first).
func (s *Source) Block() uint64 { return s.last }

// Dir returns the archive read.
func (s *Source) Dir() *Dir { return s.d }

// Close closes the block file being read; the Dir stays open.
func (s *Source) Close() error {
	s.closeFile()
	return nil
}

var _ eventring.Source = (*Source)(nil)
