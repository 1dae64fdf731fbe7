package evcap

import (
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/monadgo/events/eventring"
)

// previewSpec says what buildPreview lays out.
type previewSpec struct {
	per    int         // events per bundle (0: all in one)
	comp   Compression // bundles and indexes
	blocks []uint64    // block_number of bundle i (archive files), nil for none
	pack   bool        // a PACK_INDEX (section 1) naming the bundles with block numbers
	ct     eventring.ContentType
	hash   [32]byte
	pad    uint64 // contents start on multiples of pad (0: PageSize, as the writers do)
}

// buildPreview lays out a preview-layout capture of evs the way the
// preview writers do (spec §12.2, §12.3, §12.7–§12.9): shift 5 (32-entry
// tables), section 0 SCHEMA, an optional PACK_INDEX, then (EVENT_BUNDLE,
// SEQNO_INDEX) pairs, each content on a new page, tables appended when
// needed. It is the tests' independent writer of that layout.
func buildPreview(t testing.TB, evs []testEvent, ps previewSpec) []byte {
	const shift, perTable = 5, 32
	b := make([]byte, 2*PageSize) // header page, table 0
	dir := []uint64{PageSize}
	count := uint64(0)
	alloc := func() uint64 {
		if count == uint64(len(dir))*perTable {
			b = append(b, make([]byte, roundUp(uint64(len(b)), PageSize)-uint64(len(b)))...)
			dir = append(dir, uint64(len(b)))
			b = append(b, make([]byte, perTable*SectionDescSize)...)
		}
		at := dir[count>>shift] + (count&(perTable-1))*SectionDescSize
		binary.LittleEndian.PutUint32(b[at+4:], uint32(count))
		binary.LittleEndian.PutUint64(b[at+8:], at)
		count++
		return at
	}
	pad := ps.pad
	if pad == 0 {
		pad = PageSize
	}
	var enc *zstd.Encoder
	if ps.comp != CompressionNone {
		var err error
		if enc, err = zstd.NewWriter(nil, zstd.WithEncoderCRC(false)); err != nil {
			t.Fatal(err)
		}
	}
	// appendContent stores c at the end of the file and fills the
	// descriptor's content fields.
	appendContent := func(at uint64, c []byte) {
		stored := c
		if ps.comp != CompressionNone {
			stored = enc.EncodeAll(c, nil)
		}
		b[at+2] = byte(ps.comp)
		binary.LittleEndian.PutUint64(b[at+16:], uint64(len(b)))
		binary.LittleEndian.PutUint64(b[at+24:], uint64(len(c)))
		binary.LittleEndian.PutUint64(b[at+32:], uint64(len(stored)))
		b = append(b, stored...)
		b = append(b, make([]byte, roundUp(uint64(len(b)), pad)-uint64(len(b)))...)
	}

	schema := alloc()
	binary.LittleEndian.PutUint16(b[schema:], 1)
	copy(b[schema+40:], RingMagic)
	ct := ps.ct
	if ct == 0 {
		ct = eventring.ContentTypeTest
	}
	binary.LittleEndian.PutUint16(b[schema+46:], uint16(ct))
	copy(b[schema+48:], ps.hash[:])

	const packCap = 64
	var pack, packContent uint64
	if ps.pack {
		pack = alloc()
		binary.LittleEndian.PutUint16(b[pack:], 4)
		packContent = uint64(len(b))
		binary.LittleEndian.PutUint64(b[pack+16:], packContent)
		binary.LittleEndian.PutUint64(b[pack+32:], roundUp(packCap*16, pad))
		binary.LittleEndian.PutUint32(b[pack+52:], packCap)
		b = append(b, make([]byte, roundUp(packCap*16, pad))...)
	}

	per := ps.per
	if per == 0 {
		per = len(evs)
	}
	packed := uint32(0)
	for k, i := 0, 0; i < len(evs); k, i = k+1, i+per {
		group := evs[i:min(i+per, len(evs))]
		var content []byte
		var idx []byte
		for _, e := range group {
			p := uint64(len(content))
			d := roundUp(p, 64)
			content = append(content, make([]byte, d-p+64)...)
			putDescriptor(content[d:], &e.d)
			content = append(content, e.p...)
			end := uint64(len(content))
			content = append(content, make([]byte, roundUp(end, 8)-end+8)...)
			binary.LittleEndian.PutUint64(content[len(content)-8:], end-p+8)
			idx = binary.LittleEndian.AppendUint64(idx, d)
		}
		bundle := alloc()
		binary.LittleEndian.PutUint16(b[bundle:], 2)
		binary.LittleEndian.PutUint64(b[bundle+40:], schema)
		binary.LittleEndian.PutUint64(b[bundle+48:], uint64(len(group)))
		binary.LittleEndian.PutUint64(b[bundle+56:], group[0].d.Seqno)
		contentOff := uint64(len(b))
		appendContent(bundle, content)
		if ps.blocks != nil {
			binary.LittleEndian.PutUint64(b[bundle+80:], ps.blocks[k])
		}
		index := alloc()
		binary.LittleEndian.PutUint16(b[index:], 3)
		binary.LittleEndian.PutUint64(b[index+40:], bundle)
		binary.LittleEndian.PutUint64(b[bundle+72:], index)
		appendContent(index, idx)
		if ps.pack && ps.blocks != nil {
			e := packContent + uint64(packed)*16
			binary.LittleEndian.PutUint64(b[e:], ps.blocks[k])
			binary.LittleEndian.PutUint64(b[e+8:], contentOff)
			if packed == 0 {
				binary.LittleEndian.PutUint64(b[pack+40:], ps.blocks[k])
			}
			packed++
			binary.LittleEndian.PutUint32(b[pack+48:], packed)
		}
	}
	copy(b, Magic)
	binary.LittleEndian.PutUint32(b[8:], uint32(count))
	b[12], b[13] = shift, byte(len(dir))
	for k, off := range dir {
		binary.LittleEndian.PutUint64(b[previewDirOffset+8*k:], off)
	}
	return b
}
