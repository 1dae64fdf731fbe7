package evcap

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/monadgo/events/eventring"
)

// The preview layout's side of the Writer (WriterOptions.Layout =
// LayoutPreview): what the preview writers produce, spec §12.9.

// createPreview writes the preview header (magic, section_count 0, the
// shift, sectab_count 0), allocates table 0 at P and writes the SCHEMA
// sections (spec §12.2, §12.9 "common to all").
func (w *Writer) createPreview(schemas []Schema) (*Writer, error) {
	w.preview = true
	w.schemaDesc = make(map[eventring.ContentType]uint64)
	shift := uint8(0)
	for uint64(1)<<shift < w.entries {
		shift++
	}
	var h [previewDirOffset]byte
	copy(h[:], Magic)
	h[12] = shift
	w.writeAt(h[:], 0)
	w.end = w.page
	w.addTable()
	for _, s := range schemas {
		if err := w.AddSchema(s); err != nil {
			return nil, err
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	return w, nil
}

// addTable appends a zero-filled section table at the end of the file and
// records it in the header's directory (spec §12.3).
func (w *Writer) addTable() {
	if len(w.dir) == previewMaxTables {
		if w.err == nil {
			w.err = fmt.Errorf("evcap: %s: %d section tables, the most a preview header holds: %w", w.path, previewMaxTables, ErrBadEvent)
		}
		return
	}
	at := w.end
	w.extend(w.end + w.entries*SectionDescSize)
	k := len(w.dir)
	w.dir = append(w.dir, at)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], at)
	w.writeAt(b[:], previewDirOffset+8*uint64(k))
	w.writeAt([]byte{byte(len(w.dir))}, 13)
	w.tab, w.next = at, 0
}

// allocPreview takes the next descriptor, appending a table when the last
// one is full; section_count (u32 at 8) counts it at once, as the
// upstream writer does.
func (w *Writer) allocPreview() uint64 {
	if w.next == w.entries {
		w.addTable()
	}
	at := w.tab + w.next*SectionDescSize
	w.next++
	w.count++
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(w.count))
	w.writeAt(b[:], 8)
	return at
}

// putType writes the section type code: the release's, or the preview's
// for the same type (spec §12.4).
func (w *Writer) putType(d []byte, t SectionType) {
	code := uint16(t)
	if w.preview {
		for c, pt := range previewTypes {
			if pt == t {
				code = uint16(c)
			}
		}
	}
	binary.LittleEndian.PutUint16(d[0:], code)
}

// putIndex writes a preview descriptor's own section number (u32 at 4;
// zero in the release layout), found from its offset.
func (w *Writer) putIndex(d []byte, at uint64) {
	if !w.preview {
		return
	}
	for k, tab := range w.dir {
		if at >= tab && at < tab+w.entries*SectionDescSize {
			binary.LittleEndian.PutUint32(d[4:], uint32(uint64(k)*w.entries+(at-tab)/SectionDescSize))
			return
		}
	}
}

// appendPreview formats a checked event's record into raw with the
// preview framing (spec §12.7): zero padding to 64, the descriptor, the
// payload, zero padding to 8, then u64 L = (payload end − record start) + 8.
func (w *Writer) appendPreview(d *eventring.Descriptor, payload []byte) {
	p := w.bPos
	pad := int(roundUp(p, recordAlign) - p)
	w.idx = append(w.idx, p+uint64(pad))
	raw := slices.Grow(w.raw, pad+descriptorSize+len(payload)+7+previewTrailerSize)
	n0 := len(raw)
	raw = raw[:n0+pad+descriptorSize]
	clear(raw[n0 : n0+pad])
	putDescriptor(raw[n0+pad:], d)
	raw = append(raw, payload...)
	e := p + uint64(len(raw)-n0)
	for range roundUp(e, 8) - e {
		raw = append(raw, 0)
	}
	raw = binary.LittleEndian.AppendUint64(raw, e-p+previewTrailerSize)
	w.bPos += uint64(len(raw) - n0)
	w.raw = raw
}

// writePreviewBundleDesc writes the open bundle's descriptor (spec
// §12.5.2).
func (w *Writer) writePreviewBundleDesc(fileLen, contentLen, index uint64) {
	var d [SectionDescSize]byte
	w.putType(d[:], SectionEventBundle)
	d[2] = byte(w.opts.Compression)
	w.putIndex(d[:], w.bDesc)
	binary.LittleEndian.PutUint64(d[8:], w.bDesc)
	binary.LittleEndian.PutUint64(d[16:], w.bContent)
	binary.LittleEndian.PutUint64(d[24:], contentLen)
	binary.LittleEndian.PutUint64(d[32:], fileLen)
	binary.LittleEndian.PutUint64(d[40:], w.schemaDesc[w.bCT])
	binary.LittleEndian.PutUint64(d[48:], w.bEvents)
	if w.bEvents > 0 {
		binary.LittleEndian.PutUint64(d[56:], w.bStart)
	}
	binary.LittleEndian.PutUint64(d[72:], index)
	binary.LittleEndian.PutUint64(d[80:], w.bBlock)
	w.writeAt(d[:], w.bDesc)
}
