package evcap

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestActiveBlockIndex reads a file while its writer adds blocks: only
// committed blocks are visible, Refresh shows new ones and a Reader goes
// on where it stopped; Close makes the file inactive.
func TestActiveBlockIndex(t *testing.T) {
	for _, opts := range []WriterOptions{{BlockIndex: true}, {BlockIndex: true, Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming}} {
		t.Run(opts.Compression.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "live.evcap")
			w, err := Create(path, []Schema{testSchema}, opts)
			require.NoError(t, err)
			evs := synthEvents(1, 100)
			write := func(from, to int) {
				for i := from; i < to; i++ {
					require.NoError(t, w.Write(&evs[i].d, evs[i].ct, evs[i].p))
				}
			}

			// Nothing committed yet: an active file without events.
			f, err := Open(path)
			require.NoError(t, err)
			defer f.Close()
			require.True(t, f.Active())
			require.Zero(t, f.EventCount())
			r := f.NewReader()
			var ev Event
			require.Equal(t, io.EOF, r.Next(&ev))

			write(0, 10)
			require.NoError(t, w.EndBlock(7))
			write(10, 25)
			require.NoError(t, w.EndBlock(8))
			write(25, 30) // an open bundle: not committed
			changed, err := f.Refresh()
			require.NoError(t, err)
			require.True(t, changed)
			require.True(t, f.Active())
			require.EqualValues(t, 25, f.EventCount())
			require.Len(t, f.Blocks(), 2)
			for i := range 25 {
				require.NoError(t, r.Next(&ev))
				require.Equal(t, evs[i].d, ev.Descriptor)
			}
			require.Equal(t, io.EOF, r.Next(&ev))

			// A second reader opened now sees the same.
			f2, err := Open(path)
			require.NoError(t, err)
			require.EqualValues(t, 25, f2.EventCount())
			require.NoError(t, f2.Verify(context.Background()))
			f2.Close()

			write(30, 60)
			require.NoError(t, w.EndBlock(9))
			changed, err = f.Refresh()
			require.NoError(t, err)
			require.True(t, changed)
			for i := 25; i < 60; i++ {
				require.NoError(t, r.Next(&ev))
				require.Equal(t, evs[i].d, ev.Descriptor)
			}
			require.Equal(t, io.EOF, r.Next(&ev))
			require.NoError(t, r.SeekBlock(8))
			require.NoError(t, r.Next(&ev))
			require.EqualValues(t, 11, ev.Descriptor.Seqno)

			changed, err = f.Refresh()
			require.NoError(t, err)
			require.False(t, changed)

			write(60, 100)
			require.NoError(t, w.Close()) // the open bundle is kept, outside the index
			changed, err = f.Refresh()
			require.NoError(t, err)
			require.True(t, changed)
			require.False(t, f.Active())
			require.EqualValues(t, 100, f.EventCount())
			require.Len(t, f.Blocks(), 3)
			require.NoError(t, r.Seek(59))
			for i := 58; i < 100; i++ {
				require.NoError(t, r.Next(&ev))
				require.Equal(t, evs[i].d, ev.Descriptor)
			}
			require.Equal(t, io.EOF, r.Next(&ev))
			require.NoError(t, f.Verify(context.Background()))
		})
	}
}
