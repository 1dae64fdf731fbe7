package evcap

import (
	"encoding/binary"

	"github.com/monadgo/events/eventring"
)

// preview reads the structure of a preview-layout file (spec §12.2,
// §12.3, §12.11). h holds the first bytes of the file (at least 32).
func (p *parser) preview(h []byte) (*layout, error) {
	p.isPreview = true
	if uint64(p.size) < PageSize {
		return nil, p.failHdr(0, ErrTruncated, "preview-layout file of %d bytes, shorter than its %d-byte header page", p.size, PageSize)
	}
	page, err := p.readAt(0, PageSize)
	if err != nil {
		return nil, err
	}
	page = append([]byte(nil), page...)
	count := uint64(binary.LittleEndian.Uint32(page[8:]))
	shift, ntab := page[12], uint64(page[13])
	if page[14] != 0 || page[15] != 0 || !allZero(page[16:previewDirOffset]) {
		return nil, p.failHdr(14, ErrBadHeader, "neither layout: u64 at offset 16 is 0 (preview), but the preview header's reserved bytes 14..63 are not zero")
	}
	if ntab == 0 {
		return nil, p.failHdr(13, ErrBadHeader, "neither layout: u64 at offset 16 is 0 (preview), but sectab_count is 0")
	}
	if shift < previewMinShift || shift > previewMaxShift {
		return nil, p.failHdr(12, ErrBadHeader, "sectab_entries_shift %d outside [%d, %d]", shift, previewMinShift, previewMaxShift)
	}
	perTable := uint64(1) << shift
	tabBytes := perTable * SectionDescSize
	if count > ntab*perTable {
		return nil, p.failHdr(8, ErrBadSectionTable, "section_count %d exceeds %d tables of %d entries", count, ntab, perTable)
	}
	if count > uint64(p.o.MaxSections) {
		return nil, p.failHdr(8, ErrTooLarge, "section_count %d exceeds the limit of %d sections", count, p.o.MaxSections)
	}
	dirEnd := previewDirOffset + 8*ntab
	if !allZero(page[dirEnd:]) {
		return nil, p.failHdr(dirEnd, ErrBadHeader, "bytes after the table directory are not zero")
	}
	dir := make([]uint64, ntab)
	for k := range dir {
		off := binary.LittleEndian.Uint64(page[previewDirOffset+8*k:])
		at := uint64(previewDirOffset + 8*k)
		if off == 0 || off%previewDirAlignment != 0 {
			return nil, p.failHdr(at, ErrBadHeader, "table %d at offset %d, not a non-zero multiple of %d", k, off, previewDirAlignment)
		}
		if k > 0 && off < dir[k-1]+tabBytes {
			return nil, p.failHdr(at, ErrBadSectionTable, "table %d at offset %d overlaps or precedes table %d at %d", k, off, k-1, dir[k-1])
		}
		if !p.inFile(off, tabBytes) {
			return nil, p.failHdr(at, ErrTruncated, "table %d [%d, +%d) lies past the end of the file (%d bytes)", k, off, tabBytes, p.size)
		}
		dir[k] = off
	}

	raws := make([]rawAt, 0, count)
	const chunk = 64
	for n := uint64(0); n < count; {
		t, e := n>>shift, n&(perTable-1)
		k := min(chunk, perTable-e, count-n)
		b, err := p.readAt(dir[t]+e*SectionDescSize, k*SectionDescSize)
		if err != nil {
			return nil, err
		}
		for j := range k {
			raws = append(raws, rawAt{parseRawDesc(b[j*SectionDescSize:]), dir[t] + (e+j)*SectionDescSize})
		}
		n += k
	}
	secs := make([]Section, len(raws))
	for i := range raws {
		secs[i] = decodePreview(&raws[i].rawDesc, i)
	}
	cut, active, err := p.activeCut(secs, true)
	if err != nil {
		return nil, err
	}
	if !active {
		if need := max(1, (count+perTable-1)/perTable); ntab != need {
			return nil, p.failHdr(13, ErrBadSectionTable, "sectab_count %d, %d sections need %d", ntab, count, need)
		}
		// Slots at and after section_count are zero.
		for n := count; n < ntab*perTable; {
			t, e := n>>shift, n&(perTable-1)
			k := min(chunk, perTable-e)
			b, err := p.readAt(dir[t]+e*SectionDescSize, k*SectionDescSize)
			if err != nil {
				return nil, err
			}
			if !allZero(b) {
				return nil, p.failHdr(dir[t]+e*SectionDescSize, ErrBadSectionTable, "unused slots from %d on are not zero", n)
			}
			n += k
		}
	}
	raws, secs = raws[:cut], secs[:cut]
	for i := range raws {
		if err := p.checkPreview(&raws[i], &secs[i]); err != nil {
			return nil, err
		}
	}
	lay := &layout{kind: LayoutPreview, sections: secs, active: active}
	if err := p.link(lay); err != nil {
		return nil, err
	}
	return lay, nil
}

// decodePreview interprets a preview descriptor without checking it;
// type codes become the release's (unknown codes SectionNone).
func decodePreview(d *rawDesc, n int) Section {
	s := Section{Index: n, Compression: Compression(d.comp), DescriptorOffset: d.descOff,
		ContentOffset: d.contentOff, ContentLength: d.contentLen, FileLength: d.fileLen}
	if int(d.typ) < len(previewTypes) {
		s.Type = previewTypes[d.typ]
	}
	switch s.Type {
	case SectionSchema:
		s.ContentType = eventring.ContentType(d.u16(6))
		copy(s.SchemaHash[:], d.tail[8:40])
	case SectionEventBundle:
		s.SchemaDesc, s.EventCount, s.StartSeqno = d.u64(0), d.u64(8), d.u64(16)
		s.BlockIndexID = d.u32(24)
		s.SeqnoIndexDesc, s.BlockNumber = d.u64(32), d.u64(40)
	case SectionSeqnoIndex:
		s.BundleDesc = d.u64(0)
	case SectionBlockIndex:
		s.StartBlock, s.BlockCount, s.EntryCapacity = d.u64(0), d.u32(8), d.u32(12)
		s.IsActive = d.tail[16] != 0
	}
	return s
}

// checkPreview checks one preview descriptor on its own (spec §12.4,
// §12.5, §12.11 item 2).
func (p *parser) checkPreview(r *rawAt, s *Section) error {
	d := &r.rawDesc
	fail := func(sentinel error, format string, args ...any) error {
		return p.fail(s.Index, s.Type, r.at, sentinel, format, args...)
	}
	if d.typ == 0 || int(d.typ) >= len(previewTypes) {
		return fail(ErrBadSection, "preview section type %d (want 1..4)", d.typ)
	}
	if uint64(d.word4) != uint64(s.Index) {
		return fail(ErrBadSection, "index field %d, want the section's number %d", d.word4, s.Index)
	}
	if d.descOff != r.at {
		return fail(ErrBadSection, "descriptor_offset %d is not the descriptor's own offset", d.descOff)
	}
	if d.pad != 0 {
		return fail(ErrBadSection, "non-zero padding byte 3")
	}
	switch s.Type {
	case SectionSchema:
		return p.checkSchema(d, s, r.at)
	case SectionEventBundle:
		if d.u32(28) != 0 || !d.zeroFrom(48) {
			return fail(ErrBadSection, "non-zero reserved bytes")
		}
	case SectionSeqnoIndex:
		if !d.zeroFrom(8) {
			return fail(ErrBadSection, "non-zero reserved bytes")
		}
	case SectionBlockIndex:
		if d.tail[16] > 1 || !d.zeroFrom(17) {
			return fail(ErrBadSection, "non-zero reserved bytes or is_active %d", d.tail[16])
		}
	}
	return p.checkContent(s, r.at)
}
