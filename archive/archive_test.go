package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
)

// The block archive sample (../shared/testdata/evcap/README.md): block,
// events, first seqno, checksum_desc, checksum_payload.
var sample = []struct {
	block, events, first, desc, pay uint64
}{
	{15000001, 6595, 1, 0xf9d95b0acc1296e8, 0xddab2b2a50106c4f},
	{15000002, 3431, 6599, 0xb329e3af0fd28cdc, 0xaae765ded0a43232},
	{15000003, 4766, 10033, 0xd18dfb1621a0b58f, 0x203e300493d30a35},
}

// The schema hash of the sample (the README's).
var sampleHash = [32]byte{0x89, 0x33, 0xf9, 0x07, 0xc4, 0x32, 0xc9, 0x8a, 0xc0, 0xc8, 0xdb, 0x62, 0xf9, 0xaa, 0x16, 0x4c,
	0x0c, 0x3f, 0x16, 0x72, 0xf4, 0x12, 0x90, 0xe4, 0xea, 0x34, 0x08, 0xdf, 0x6c, 0x67, 0x23, 0xf3}

func sampleDir(t testing.TB) string {
	return testdata.Shared(t, "evcap/archive-preview")
}

// checksums are the README's per-event sums (../shared/testdata/README.md).
type checksums struct{ n, desc, pay uint64 }

func (c *checksums) add(d *eventring.Descriptor, payload []byte) {
	c.n++
	c.desc += d.Seqno ^ uint64(d.EventType) ^ uint64(d.PayloadSize) ^ d.RecordEpochNanos ^ d.PayloadBufOffset ^
		d.ContentExt[0] ^ d.ContentExt[1] ^ d.ContentExt[2] ^ d.ContentExt[3]
	if len(payload) >= 8 {
		c.pay += binary.LittleEndian.Uint64(payload)
	}
}

// readBlock returns the events of block n of d, owned.
func readBlock(t testing.TB, d *Dir, n uint64) []evcap.Event {
	t.Helper()
	f, err := d.OpenBlock(n)
	require.NoError(t, err)
	defer f.Close()
	var evs []evcap.Event
	for ev, err := range f.Events(context.Background()) {
		require.NoError(t, err)
		evs = append(evs, ev.Clone())
	}
	return evs
}

// TestSampleArchive reads the daemon's archive sample: the blocks it lists,
// each file's events with the README's counts, first seqnos and checksums,
// and the gaps around them.
func TestSampleArchive(t *testing.T) {
	d, err := Open(sampleDir(t), Options{SchemaHash: sampleHash})
	require.NoError(t, err)
	bs, err := d.Blocks()
	require.NoError(t, err)
	require.Equal(t, []uint64{15000001, 15000002, 15000003}, bs)
	lo, hi, count, err := d.Bounds()
	require.NoError(t, err)
	require.Equal(t, []uint64{15000001, 15000003, 3}, []uint64{lo, hi, uint64(count)})
	top, ok, err := d.Highest()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(15000003), top)
	for _, c := range sample {
		require.True(t, d.Has(c.block))
		var sum checksums
		evs := readBlock(t, d, c.block)
		for _, ev := range evs {
			sum.add(&ev.Descriptor, ev.Payload)
		}
		require.Equal(t, c.events, sum.n)
		require.Equal(t, c.first, evs[0].Descriptor.Seqno)
		require.Equal(t, c.desc, sum.desc)
		require.Equal(t, c.pay, sum.desc+sum.pay)
		require.NoError(t, d.VerifyBlock(context.Background(), c.block))
	}
	require.False(t, d.Has(15000004))
	_, err = d.OpenBlock(15000004)
	var be *BlockError
	require.ErrorAs(t, err, &be)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, uint64(15000004), be.Number)

	miss, err := d.Missing(14999999, 15000005)
	require.NoError(t, err)
	require.Equal(t, []Range{{14999999, 15000000}, {15000004, 15000005}}, miss)
	miss, err = d.Missing(15000001, 15000003)
	require.NoError(t, err)
	require.Empty(t, miss)
	_, ok, err = d.LastFinalized()
	require.NoError(t, err)
	require.False(t, ok, "the sample has no last_finalized_block")

	// Another schema hash is refused with the ring's schema error.
	other, err := Open(sampleDir(t), Options{SchemaHash: [32]byte{1}})
	require.NoError(t, err)
	_, err = other.OpenBlock(15000001)
	require.ErrorIs(t, err, eventring.ErrSchemaMismatch)
}

// TestWriteAndFill writes the sample's blocks with WriteBlock (they read
// back as the same events), refuses to rewrite one, and fills another
// archive from the sample byte for byte.
func TestWriteAndFill(t *testing.T) {
	src, err := Open(sampleDir(t), Options{})
	require.NoError(t, err)
	root := t.TempDir()
	d, err := Create(root, Options{})
	require.NoError(t, err)
	defer d.Close()
	schema := evcap.Schema{ContentType: eventring.ContentTypeExec, Hash: sampleHash}
	for _, c := range sample[:2] {
		evs := readBlock(t, src, c.block)
		require.NoError(t, d.WriteBlock(c.block, schema, evs))
		got := readBlock(t, d, c.block)
		require.Equal(t, evs, got)
		require.NoError(t, d.VerifyBlock(context.Background(), c.block))
		f, err := d.OpenBlock(c.block)
		require.NoError(t, err)
		require.Equal(t, evcap.CompressionZstdSinglePass, f.Bundles()[0].Compression)
		f.Close()
	}
	// A present block is never rewritten.
	p := d.BlockPath(sample[0].block)
	before, err := os.Stat(p)
	require.NoError(t, err)
	err = d.WriteBlock(sample[0].block, schema, readBlock(t, src, sample[1].block))
	require.ErrorIs(t, err, ErrExists)
	after, err := os.Stat(p)
	require.NoError(t, err)
	require.True(t, os.SameFile(before, after) && before.ModTime() == after.ModTime())
	n, ok, err := d.LastFinalized()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, sample[1].block, n)
	ents, err := os.ReadDir(filepath.Join(root, InProgressDir))
	require.NoError(t, err)
	require.Empty(t, ents, "nothing left in .inprogress")

	// Fill: the missing block is copied byte for byte; the others stay.
	res, err := Fill(context.Background(), d, src)
	require.NoError(t, err)
	require.Equal(t, FillResult{Copied: 1, Present: 2}, res)
	want, err := os.ReadFile(src.BlockPath(sample[2].block))
	require.NoError(t, err)
	got, err := os.ReadFile(d.BlockPath(sample[2].block))
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got))
	n, _, _ = d.LastFinalized()
	require.Equal(t, sample[2].block, n)

	// Uncompressed archives, and a read-only Dir refuses writes.
	plain, err := Create(t.TempDir(), Options{Uncompressed: true})
	require.NoError(t, err)
	defer plain.Close()
	require.NoError(t, plain.WriteBlock(sample[0].block, schema, readBlock(t, src, sample[0].block)))
	f, err := plain.OpenBlock(sample[0].block)
	require.NoError(t, err)
	require.Equal(t, evcap.CompressionNone, f.Bundles()[0].Compression)
	f.Close()
	require.ErrorIs(t, src.WriteBlock(1, schema, readBlock(t, src, sample[0].block)), ErrReadOnly)
}

// TestCreateLocksAndCleans: one writer at a time; a crashed writer's
// temporary files are removed when the archive is opened for writing.
func TestCreateLocksAndCleans(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, InProgressDir), 0o755))
	stale := filepath.Join(root, InProgressDir, "15000001")
	require.NoError(t, os.WriteFile(stale, []byte("half a block"), 0o644))
	d, err := Create(root, Options{})
	require.NoError(t, err)
	_, err = os.Stat(stale)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = Create(root, Options{})
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, d.Close())
	d2, err := Create(root, Options{})
	require.NoError(t, err)
	require.NoError(t, d2.Close())
	require.ErrorIs(t, d2.WriteBlock(1, evcap.Schema{ContentType: eventring.ContentTypeExec}, []evcap.Event{{}}), ErrClosed)
	_, err = Open(stale+"-none", Options{})
	require.Error(t, err)
	file := filepath.Join(root, "plain-file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = Open(file, Options{})
	require.ErrorIs(t, err, ErrNotArchive)
}

// TestHostileDir: names that are not blocks are skipped; files that are not
// blocks of their number give typed errors, never a panic.
func TestHostileDir(t *testing.T) {
	src, err := Open(sampleDir(t), Options{})
	require.NoError(t, err)
	good, err := os.ReadFile(src.BlockPath(15000001))
	require.NoError(t, err)
	root := t.TempDir()
	put := func(rel string, b []byte) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	// Blocks.
	put("15000000/15000001.bcap", good)
	put("15000000/15000002.bcap", good)                          // its bundle says 15000001
	put("15000000/15000003.bcap", good[:len(good)/2])            // truncated
	put("15000000/15000004.bcap", nil)                           // empty
	put("15000000/15000005.bcap", bytes.Repeat([]byte{7}, 8192)) // garbage
	corrupt := bytes.Clone(good)
	corrupt[8192] ^= 0xff                                          // the zstd magic of the bundle
	binary.LittleEndian.PutUint64(corrupt[4096+128+80:], 15000006) // its bundle's block_number
	put("15000000/15000006.bcap", corrupt)
	require.NoError(t, os.Mkdir(filepath.Join(root, "15000000", "15000007.bcap"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(root, "15000000", "15000001.bcap"), filepath.Join(root, "15000000", "15000008.bcap")))
	// Not blocks: skipped by enumeration.
	for _, rel := range []string{"15000000/15000009.bcap.tmp", "15000000/015000010.bcap", "15000000/15000011.BCAP",
		"15000000/+15000012.bcap", "15000000/15000013", "15000000/25000001.bcap", "15000000/0.bcap",
		"0150000000/150000001.bcap", "12345/12345.bcap", "-1/1.bcap", "garbage/1.bcap", "99999999999999999999999/1.bcap",
		"last_finalized_block_x", ".inprogress/15000020"} {
		put(rel, good)
	}
	require.NoError(t, os.Symlink(filepath.Join(root, "15000000"), filepath.Join(root, "20000000")))
	put("30000000", good) // a file where a subdirectory would be

	d, err := Open(root, Options{})
	require.NoError(t, err)
	bs, err := d.Blocks()
	require.NoError(t, err)
	require.Equal(t, []uint64{15000001, 15000002, 15000003, 15000004, 15000005, 15000006}, bs)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "90000000"), 0o755)) // empty: skipped
	top, ok, err := d.Highest()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(15000006), top)

	require.NoError(t, d.VerifyBlock(context.Background(), 15000001))
	for _, c := range []struct {
		n    uint64
		want error
	}{
		{15000002, ErrBadBlock},
		{15000003, evcap.ErrTruncated},
		{15000004, evcap.ErrTruncated},
		{15000005, evcap.ErrBadMagic},
		{15000006, evcap.ErrBadCompression},
		{15000007, ErrBadBlock},
		{15000008, ErrBadBlock},
		{15000009, ErrNotFound},
		{20000001, ErrBadBlock}, // through a symlinked subdirectory
		{30000001, ErrBadBlock},
		{0, ErrBadBlock},
	} {
		err := d.VerifyBlock(context.Background(), c.n)
		var be *BlockError
		require.ErrorAs(t, err, &be, "block %d: %v", c.n, err)
		require.Equal(t, c.n, be.Number)
		require.ErrorIs(t, err, c.want, "block %d: %v", c.n, err)
	}

	// Fill from the hostile archive copies only the good block and lists
	// the bad ones.
	dst, err := Create(t.TempDir(), Options{})
	require.NoError(t, err)
	defer dst.Close()
	res, err := Fill(context.Background(), dst, d)
	require.NoError(t, err)
	require.Equal(t, 1, res.Copied)
	require.Len(t, res.Refused, 5)
	got, err := dst.Blocks()
	require.NoError(t, err)
	require.Equal(t, []uint64{15000001}, got)

	// last_finalized_block of the wrong size.
	put(LastFinalizedFile, []byte{1, 2, 3})
	_, _, err = d.LastFinalized()
	require.ErrorIs(t, err, ErrNotArchive)
}

// FuzzOpenBlock: whatever bytes a block file holds, OpenBlock and
// VerifyBlock return nil or a *BlockError, and never panic.
func FuzzOpenBlock(f *testing.F) {
	for _, c := range sample[:1] {
		b, err := os.ReadFile(filepath.Join(testdata.SharedDir, "evcap/archive-preview/15000000", strconv.FormatUint(c.block, 10)+Ext))
		if err == nil {
			f.Add(b[:12288])
			f.Add(b)
		}
	}
	f.Add([]byte("EVCAP_01"))
	root := f.TempDir()
	d, err := Open(root, Options{File: evcap.OpenOptions{MaxSectionSize: 16 << 20, MaxSections: 1024}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const n = 15000001
		p := d.BlockPath(n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		err := d.VerifyBlock(context.Background(), n)
		var be *BlockError
		if err != nil && (!errors.As(err, &be) || be.Number != n) {
			t.Fatalf("not a *BlockError: %v", err)
		}
	})
}
