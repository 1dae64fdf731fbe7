package archive

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/monadgo/events/evcap"
)

// WriteBlock archives events as block n: a block archive file (spec §12.9:
// SCHEMA schema, one EVENT_BUNDLE numbered n with the events, its
// SEQNO_INDEX; zstd single-pass unless Options.Uncompressed) written to
// .inprogress/<n>, synced, and linked to its final name without replacing
// an existing file, then last_finalized_block is raised to n if it was
// lower. The events must have consecutive seqnos and schema's content type
// (Options.ContentType); a zero Event.ContentType means schema's.
//
// If the block is already archived, nothing is written and the error is a
// *BlockError wrapping ErrExists. Other errors are *BlockError values too;
// the final name never shows a partial file.
func (d *Dir) WriteBlock(n uint64, schema evcap.Schema, events []evcap.Event) error {
	fail := func(err error) error { return &BlockError{Number: n, Path: d.BlockPath(n), Err: err} }
	switch {
	case !d.writable:
		return fail(ErrReadOnly)
	case d.lock == nil:
		return fail(ErrClosed)
	case n == 0:
		return fail(fmt.Errorf("block number 0 cannot be archived (0 means no block): %w", ErrBadBlock))
	case len(events) == 0:
		return fail(fmt.Errorf("no events: %w", ErrBadBlock))
	case schema.ContentType != d.opts.ContentType:
		return fail(fmt.Errorf("schema of content type %v, the archive holds %v: %w", schema.ContentType, d.opts.ContentType, ErrBadBlock))
	}
	if d.Has(n) {
		return fail(ErrExists)
	}
	tmp := d.tempPath(n)
	comp := evcap.CompressionZstdSinglePass
	if d.opts.Uncompressed {
		comp = evcap.CompressionNone
	}
	w, err := evcap.Create(tmp, []evcap.Schema{schema}, evcap.WriterOptions{Layout: evcap.LayoutPreview,
		Compression: comp, IndexCompression: comp, Level: d.opts.Level})
	if err != nil {
		return fail(err)
	}
	for i := range events {
		ev := &events[i]
		ct := ev.ContentType
		if ct == 0 {
			ct = schema.ContentType
		}
		if err = w.Write(&ev.Descriptor, ct, ev.Payload); err != nil {
			break
		}
	}
	if err == nil {
		err = w.EndBlock(n)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fail(err)
	}
	return d.publish(n, tmp)
}

// WriteBlockFile archives block n from the bytes of an existing block
// archive file (as Fill copies them), after checking them as OpenBlock and
// VerifyBlock do. It writes and publishes like WriteBlock.
func (d *Dir) WriteBlockFile(ctx context.Context, n uint64, r io.Reader) error {
	fail := func(err error) error { return &BlockError{Number: n, Path: d.BlockPath(n), Err: err} }
	switch {
	case !d.writable:
		return fail(ErrReadOnly)
	case d.lock == nil:
		return fail(ErrClosed)
	case n == 0:
		return fail(fmt.Errorf("block number 0 cannot be archived (0 means no block): %w", ErrBadBlock))
	}
	if d.Has(n) {
		return fail(ErrExists)
	}
	tmp := d.tempPath(n)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fail(err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.checkFile(ctx, tmp, n)
	}
	if err != nil {
		os.Remove(tmp)
		return fail(err)
	}
	return d.publish(n, tmp)
}

// checkFile opens path as block n's file and verifies all of it.
func (d *Dir) checkFile(ctx context.Context, path string, n uint64) error {
	f, err := evcap.OpenWithOptions(path, d.opts.File)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := d.checkBlock(f, n); err != nil {
		return err
	}
	return f.Verify(ctx)
}

func (d *Dir) tempPath(n uint64) string {
	return filepath.Join(d.root, InProgressDir, strconv.FormatUint(n, 10))
}

// publish makes the complete temporary file tmp visible as block n: sync
// it, link it to its final name (which fails if the name exists: a
// present block is never replaced), remove the temporary name, and sync
// the directories so that the new name survives a crash.
func (d *Dir) publish(n uint64, tmp string) (err error) {
	final := d.BlockPath(n)
	defer func() {
		os.Remove(tmp) // after the link, or on failure
		if err != nil {
			err = &BlockError{Number: n, Path: final, Err: err}
		}
	}()
	if err := d.sync(tmp); err != nil {
		return err
	}
	sub := filepath.Dir(final)
	if err := os.Mkdir(sub, 0o755); err == nil {
		if err := d.sync(d.root); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if st, err := os.Lstat(sub); err != nil || !st.IsDir() {
		if err == nil {
			err = fmt.Errorf("%s is not a directory (%v): %w", sub, st.Mode().Type(), ErrBadBlock)
		}
		return err
	}
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrExists
		}
		return err
	}
	if err := d.sync(sub); err != nil {
		return err
	}
	return d.raiseLastFinalized(n)
}

// sync fsyncs a file or directory, unless Options.NoSync.
func (d *Dir) sync(p string) error {
	if d.opts.NoSync {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil // a file system without fsync on directories
	}
	return err
}

// raiseLastFinalized sets last_finalized_block to n if it held less (or
// did not exist): written under .inprogress and renamed over the old one,
// so that a reader never sees a torn value.
func (d *Dir) raiseLastFinalized(n uint64) error {
	if cur, ok, err := d.LastFinalized(); err == nil && ok && cur >= n {
		return nil
	}
	tmp := filepath.Join(d.root, InProgressDir, LastFinalizedFile)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	if err := os.WriteFile(tmp, b[:], 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.root, LastFinalizedFile))
}

// FillResult says what Fill did.
type FillResult struct {
	Copied  int           // blocks copied into the destination
	Present int           // blocks of the source the destination already had
	Refused []*BlockError // source blocks that failed verification (not copied)
}

// Fill copies into dst every block of src that dst lacks, in increasing
// order, verifying each source file in full first (a file that fails is
// not copied and is listed in FillResult.Refused; copying goes on). The
// copies are byte for byte (upstream files stay upstream files) and
// published like WriteBlock's. It returns at the first error that is not
// about one source block (an I/O error of dst, ctx done).
func Fill(ctx context.Context, dst, src *Dir) (FillResult, error) {
	var res FillResult
	for n, err := range src.All() {
		if err != nil {
			return res, err
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if dst.Has(n) {
			res.Present++
			continue
		}
		if err := src.VerifyBlock(ctx, n); err != nil {
			var be *BlockError
			if ctx.Err() == nil && errors.As(err, &be) {
				res.Refused = append(res.Refused, be)
				continue
			}
			return res, err
		}
		f, err := os.Open(src.BlockPath(n))
		if err != nil {
			res.Refused = append(res.Refused, &BlockError{Number: n, Path: src.BlockPath(n), Err: err})
			continue
		}
		err = dst.WriteBlockFile(ctx, n, f)
		f.Close()
		switch {
		case err == nil:
			res.Copied++
		case errors.Is(err, ErrExists):
			res.Present++
		default:
			var be *BlockError
			if errors.As(err, &be) && (errors.Is(err, ErrBadBlock) || isFormat(err)) {
				res.Refused = append(res.Refused, be) // changed between the checks
				continue
			}
			return res, err
		}
	}
	return res, nil
}

func isFormat(err error) bool {
	var fe *evcap.FormatError
	return errors.As(err, &fe)
}
