package evcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/monadgo/events/eventring"
)

// parser reads and checks a file's structure (spec §2–§5, §11.2, §12).
type parser struct {
	ra   io.ReaderAt
	size int64
	path string
	o    *OpenOptions
	buf  []byte

	isPreview bool // record sizes differ between the layouts
}

// rawAt is a descriptor as read, with its own file offset.
type rawAt struct {
	rawDesc
	at uint64
}

func (p *parser) fail(section int, typ SectionType, off uint64, sentinel error, format string, args ...any) error {
	return &FormatError{Path: p.path, Section: section, Type: typ, Offset: off, Pos: -1, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

func (p *parser) failHdr(off uint64, sentinel error, format string, args ...any) error {
	return p.fail(-1, 0, off, sentinel, format, args...)
}

// readAt reads exactly n bytes at off into the parser's scratch buffer.
func (p *parser) readAt(off, n uint64) ([]byte, error) {
	if off > uint64(p.size) || n > uint64(p.size)-off {
		return nil, p.failHdr(off, ErrTruncated, "%d bytes at offset %d lie past the end of the file (%d bytes)", n, off, p.size)
	}
	if uint64(cap(p.buf)) < n {
		p.buf = make([]byte, n)
	}
	b := p.buf[:n]
	k, err := p.ra.ReadAt(b, int64(off))
	if k == len(b) {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, p.failHdr(off, ErrTruncated, "file ends at %d reading %d bytes at offset %d", off+uint64(k), n, off)
	}
	return nil, fmt.Errorf("evcap: %s: %w", p.path, err)
}

// inFile reports whether [off, off+n) lies inside the file.
func (p *parser) inFile(off, n uint64) bool {
	return off <= uint64(p.size) && n <= uint64(p.size)-off
}

func parse(ra io.ReaderAt, size int64, path string, o *OpenOptions) (*layout, error) {
	p := &parser{ra: ra, size: size, path: path, o: o}
	var h [previewDirOffset]byte
	n, err := ra.ReadAt(h[:min(int64(len(h)), max(size, 0))], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("evcap: %s: %w", path, err)
	}
	if n < len(Magic) {
		if n >= 6 && string(h[:6]) == Magic[:6] || n < 6 && string(h[:n]) == Magic[:n] {
			return nil, p.failHdr(0, ErrTruncated, "file is only %d bytes long", n)
		}
		return nil, p.failHdr(0, ErrBadMagic, "not a capture file (magic %q)", h[:n])
	}
	if string(h[:6]) != Magic[:6] {
		return nil, p.failHdr(0, ErrBadMagic, "not a capture file (magic %q, want %q)", h[:8], Magic)
	}
	if string(h[:8]) != Magic {
		return nil, p.failHdr(0, ErrBadMagic, "capture format version %q, this reader knows %q", h[6:8], Magic[6:])
	}
	if n < fileHeaderSize {
		return nil, p.failHdr(0, ErrTruncated, "file is only %d bytes long, shorter than the %d-byte header", n, fileHeaderSize)
	}
	release := binary.LittleEndian.Uint64(h[16:]) != 0 // spec §12.1
	switch {
	case o.Layout == LayoutRelease && !release:
		return nil, p.failHdr(16, ErrWrongLayout, "preview-layout file (u64 at offset 16 is 0), release layout demanded")
	case o.Layout == LayoutPreview && release:
		return nil, p.failHdr(16, ErrWrongLayout, "release-layout file (u64 at offset 16 is sectab_size %d, not 0), preview layout demanded", binary.LittleEndian.Uint64(h[16:]))
	case o.Layout > LayoutPreview:
		return nil, fmt.Errorf("evcap: unknown layout %v", o.Layout)
	}
	var lay *layout
	if release {
		lay, err = p.release(h[:fileHeaderSize])
	} else {
		lay, err = p.preview(h[:n])
	}
	if err != nil {
		return nil, err
	}
	lay.size = size
	return lay, nil
}

// release walks the section tables of a release-layout file (spec §2,
// §3, §11.2).
func (p *parser) release(h []byte) (*layout, error) {
	sectabOff := binary.LittleEndian.Uint64(h[8:])
	sectabSize := binary.LittleEndian.Uint64(h[16:])
	count := binary.LittleEndian.Uint64(h[24:])
	if sectabSize%SectionDescSize != 0 {
		return nil, p.failHdr(16, ErrBadHeader, "sectab_size %d is not a multiple of %d", sectabSize, SectionDescSize)
	}
	if sectabOff == 0 || sectabOff%SectionDescSize != 0 {
		return nil, p.failHdr(8, ErrBadHeader, "sectab_offset %d is not a non-zero multiple of %d", sectabOff, SectionDescSize)
	}
	if !p.inFile(sectabOff, sectabSize) {
		return nil, p.failHdr(8, ErrTruncated, "section table [%d, +%d) lies past the end of the file (%d bytes)", sectabOff, sectabSize, p.size)
	}
	if zeroEnd := min(sectabOff, PageSize); zeroEnd > fileHeaderSize {
		b, err := p.readAt(fileHeaderSize, zeroEnd-fileHeaderSize)
		if err != nil {
			return nil, err
		}
		if !allZero(b) {
			return nil, p.failHdr(fileHeaderSize, ErrBadHeader, "bytes %d..%d after the header are not zero", fileHeaderSize, zeroEnd-1)
		}
	}
	if count > uint64(p.o.MaxSections) {
		return nil, p.failHdr(24, ErrTooLarge, "section_count %d exceeds the limit of %d sections", count, p.o.MaxSections)
	}

	// Walk the chain of tables (spec §3, §11.3), each up to its size.
	entries := sectabSize / SectionDescSize
	var raws []rawAt
	tables := map[uint64]uint64{} // table start / sectabSize -> table start: no two tables overlap
	tab := sectabOff
	termAt := uint64(0) // file offset of the NONE terminator
	addTable := func(at uint64) bool {
		k := at / sectabSize
		for _, j := range []uint64{k - 1, k, k + 1} {
			if s, ok := tables[j]; ok && s < at+sectabSize && at < s+sectabSize {
				return false
			}
		}
		tables[k] = at
		return true
	}
	addTable(tab)
walk:
	for {
		const chunk = 64
		for i := uint64(0); i < entries; i += chunk {
			k := min(chunk, entries-i)
			b, err := p.readAt(tab+i*SectionDescSize, k*SectionDescSize)
			if err != nil {
				return nil, err
			}
			for j := range k {
				at := tab + (i+j)*SectionDescSize
				d := parseRawDesc(b[j*SectionDescSize:])
				n := len(raws)
				if d.typ == uint16(SectionNone) {
					termAt = at
					break walk
				}
				if n >= p.o.MaxSections {
					return nil, p.failHdr(at, ErrTooLarge, "more than %d section descriptors", p.o.MaxSections)
				}
				if d.descOff != at {
					return nil, p.fail(n, SectionType(d.typ), at, ErrBadSection, "descriptor_offset %d is not the descriptor's own offset", d.descOff)
				}
				last := i+j == entries-1
				if d.typ != uint16(SectionLink) {
					if last {
						return nil, p.fail(n, SectionType(d.typ), at, ErrBadSectionTable, "the last entry of a full section table is not a LINK")
					}
					raws = append(raws, rawAt{d, at})
					continue
				}
				if !last {
					return nil, p.fail(n, SectionLink, at, ErrBadSectionTable, "LINK in entry %d of a %d-entry table, not in its last entry", i+j, entries)
				}
				if d.comp != 0 || d.pad != 0 || d.word4 != 0 || d.contentLen != 0 || !d.zeroFrom(0) {
					return nil, p.fail(n, SectionLink, at, ErrBadSection, "LINK with non-zero compression, content_length or reserved bytes")
				}
				if d.fileLen != sectabSize {
					return nil, p.fail(n, SectionLink, at, ErrBadSection, "LINK file_length %d, want the table size %d", d.fileLen, sectabSize)
				}
				next := d.contentOff
				if next == 0 || next%SectionDescSize != 0 {
					return nil, p.fail(n, SectionLink, at, ErrBadSection, "LINK to offset %d, not a non-zero multiple of %d", next, SectionDescSize)
				}
				if !p.inFile(next, sectabSize) {
					return nil, p.fail(n, SectionLink, at, ErrTruncated, "LINK to a table [%d, +%d) past the end of the file (%d bytes)", next, sectabSize, p.size)
				}
				if !addTable(next) {
					return nil, p.fail(n, SectionLink, at, ErrBadSectionTable, "LINK to offset %d, inside a table already walked (a loop)", next)
				}
				raws = append(raws, rawAt{d, at})
				tab = next
				continue walk
			}
		}
		// Unreachable: the last entry is NONE, a LINK or refused above.
		return nil, p.failHdr(tab, ErrBadSectionTable, "section table without terminator")
	}

	secs := make([]Section, len(raws))
	for i := range raws {
		secs[i] = decodeRelease(&raws[i].rawDesc, i)
	}
	cut, active, err := p.activeCut(secs, false)
	if err != nil {
		return nil, err
	}
	if !active {
		if uint64(len(raws)) != count {
			return nil, p.failHdr(24, ErrBadSectionTable, "section_count %d, but the tables hold %d descriptors", count, len(raws))
		}
		// The rest of the last table after the terminator is zero.
		tail := tab + sectabSize - termAt
		for off := termAt; off < termAt+tail; off += 8 << 10 {
			b, err := p.readAt(off, min(8<<10, termAt+tail-off))
			if err != nil {
				return nil, err
			}
			if !allZero(b) {
				return nil, p.failHdr(off, ErrBadSectionTable, "non-zero bytes after the terminator of the table at %d", tab)
			}
		}
	} else if uint64(len(raws)) > count {
		return nil, p.failHdr(24, ErrBadSectionTable, "section_count %d, but the tables hold %d descriptors", count, len(raws))
	}
	raws, secs = raws[:cut], secs[:cut]
	for i := range raws {
		if err := p.checkRelease(&raws[i], &secs[i]); err != nil {
			return nil, err
		}
	}
	lay := &layout{kind: LayoutRelease, sections: secs, active: active}
	if err := p.link(lay); err != nil {
		return nil, err
	}
	return lay, nil
}

// decodeRelease interprets a release descriptor without checking it.
func decodeRelease(d *rawDesc, n int) Section {
	s := Section{Index: n, Type: SectionType(d.typ), Compression: Compression(d.comp), DescriptorOffset: d.descOff,
		ContentOffset: d.contentOff, ContentLength: d.contentLen, FileLength: d.fileLen}
	switch s.Type {
	case SectionSchema:
		s.ContentType = eventring.ContentType(d.u16(6))
		copy(s.SchemaHash[:], d.tail[8:40])
	case SectionEventBundle:
		s.EventCount, s.StartSeqno = d.u64(0), d.u64(8)
		s.BlockIndexID = d.u32(16)
		s.SeqnoIndexDesc = d.u64(24)
	case SectionSeqnoIndex:
		s.BundleDesc = d.u64(0)
	case SectionBlockIndex:
		s.StartBlock, s.BlockCount, s.EntryCapacity = d.u64(0), d.u32(8), d.u32(12)
		s.IsActive = d.tail[16] != 0
	}
	return s
}

// checkRelease checks one release descriptor on its own (spec §4, §5,
// §11.2 items 4 and 6).
func (p *parser) checkRelease(r *rawAt, s *Section) error {
	d := &r.rawDesc
	fail := func(sentinel error, format string, args ...any) error {
		return p.fail(s.Index, s.Type, r.at, sentinel, format, args...)
	}
	if s.Type == SectionLink {
		return nil // checked by the walk
	}
	if s.Type > SectionBlockIndex {
		return fail(ErrBadSection, "unknown section type %d", d.typ)
	}
	if d.pad != 0 || d.word4 != 0 {
		return fail(ErrBadSection, "non-zero reserved bytes 3..7")
	}
	switch s.Type {
	case SectionSchema:
		return p.checkSchema(d, s, r.at)
	case SectionEventBundle:
		if d.u32(20) != 0 || !d.zeroFrom(32) {
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

func (p *parser) checkSchema(d *rawDesc, s *Section, at uint64) error {
	if d.comp != 0 || d.contentOff != 0 || d.contentLen != 0 || d.fileLen != 0 {
		return p.fail(s.Index, s.Type, at, ErrBadSection, "SCHEMA with content or compression")
	}
	if string(d.tail[:6]) != RingMagic {
		return p.fail(s.Index, s.Type, at, ErrBadSection, "ring_magic %q, want %q", d.tail[:6], RingMagic)
	}
	if s.ContentType == eventring.ContentTypeNone {
		return p.fail(s.Index, s.Type, at, ErrBadSection, "content type 0 (NONE)")
	}
	if !d.zeroFrom(40) {
		return p.fail(s.Index, s.Type, at, ErrBadSection, "non-zero reserved bytes")
	}
	return nil
}

// checkContent checks what both layouts require of a section with
// content: compression only where allowed, the stored bytes inside the
// file, sizes within the limits, and enough content for the declared
// records or index entries.
func (p *parser) checkContent(s *Section, at uint64) error {
	fail := func(sentinel error, format string, args ...any) error {
		return p.fail(s.Index, s.Type, at, sentinel, format, args...)
	}
	if s.Compression > CompressionZstdStreaming {
		return fail(ErrBadSection, "unknown compression %d", s.Compression)
	}
	if s.Compression != CompressionNone && s.Type != SectionEventBundle && s.Type != SectionSeqnoIndex {
		return fail(ErrBadSection, "%v section with compression %v", s.Type, s.Compression)
	}
	if s.ContentOffset%recordAlign != 0 {
		return fail(ErrBadSection, "content_offset %d is not a multiple of %d", s.ContentOffset, recordAlign)
	}
	if !p.inFile(s.ContentOffset, s.FileLength) {
		return fail(ErrTruncated, "content [%d, +%d) lies past the end of the file (%d bytes)", s.ContentOffset, s.FileLength, p.size)
	}
	size := s.Size()
	if s.Compression != CompressionNone {
		if size > p.o.MaxSectionSize {
			return fail(ErrTooLarge, "content_length %d exceeds the limit of %d bytes", size, p.o.MaxSectionSize)
		}
		if size > 0 && s.FileLength == 0 {
			return fail(ErrBadCompression, "compressed section of %d bytes stores no data", size)
		}
	}
	switch s.Type {
	case SectionEventBundle:
		if s.EventCount == 0 {
			if s.StartSeqno != 0 {
				return fail(ErrBadSection, "empty bundle with start_seqno %d", s.StartSeqno)
			}
			if size != 0 {
				return fail(ErrBadRecord, "empty bundle with %d bytes of content", size)
			}
			return nil
		}
		if s.StartSeqno == 0 || s.StartSeqno+s.EventCount < s.StartSeqno {
			return fail(ErrBadSection, "start_seqno %d with event_count %d", s.StartSeqno, s.EventCount)
		}
		// Records are at least minRecord bytes and start every 64 bytes
		// at the earliest.
		minRec := uint64(minReleaseRecord)
		if p.isPreview {
			minRec = minPreviewRecord
		}
		if size < minRec || (s.EventCount-1) > (size-minRec)/recordAlign {
			return fail(ErrBadRecord, "event_count %d cannot fit in %d bytes of content", s.EventCount, size)
		}
	case SectionBlockIndex:
		if uint64(s.BlockCount) > uint64(s.EntryCapacity) {
			return fail(ErrBadIndex, "block_count %d exceeds entry_capacity %d", s.BlockCount, s.EntryCapacity)
		}
		if uint64(s.EntryCapacity)*BlockIndexEntrySize > s.FileLength {
			return fail(ErrBadIndex, "entry_capacity %d needs %d bytes, the section stores %d", s.EntryCapacity, uint64(s.EntryCapacity)*BlockIndexEntrySize, s.FileLength)
		}
	}
	return nil
}

// activeCut finds, in a file whose block index is active, how many
// sections are committed: everything up to the last bundle the index
// names and that bundle's SEQNO_INDEX (spec §9, live update protocol).
// Sections after it may be half written and are ignored. For other files
// it returns all sections.
func (p *parser) activeCut(secs []Section, preview bool) (int, bool, error) {
	bi := -1
	for i := range secs {
		if secs[i].Type == SectionBlockIndex {
			bi = i
			break
		}
	}
	if bi < 0 || !secs[bi].IsActive {
		return len(secs), false, nil
	}
	// The index's own descriptor is complete from creation on.
	s := &secs[bi]
	if err := p.checkContent(s, s.DescriptorOffset); err != nil {
		return 0, false, err
	}
	entries, err := p.blockEntries(s, len(secs))
	if err != nil {
		return 0, false, err
	}
	byDesc := make(map[uint64]int, len(secs))
	var bundles []int
	for i := range secs {
		byDesc[secs[i].DescriptorOffset] = i
		if secs[i].Type == SectionEventBundle {
			bundles = append(bundles, i)
		}
	}
	byEntry := bundlesByEntry(secs, bundles, preview)
	cut := bi + 1
	for i, e := range entries {
		found, ok := byEntry[entryKey(i, e, preview)]
		if !ok {
			return 0, false, p.fail(bi, SectionBlockIndex, s.ContentOffset+uint64(i)*BlockIndexEntrySize, ErrBadIndex,
				"entry %d (block %d) names content offset %d, where no bundle of that entry is", i, e.Number, e.ContentOffset)
		}
		cut = max(cut, found+1)
		if x, ok := byDesc[secs[found].SeqnoIndexDesc]; ok && secs[found].SeqnoIndexDesc != 0 {
			cut = max(cut, x+1)
		}
	}
	return cut, true, nil
}

// blockEntries reads the valid entries of a block index whose descriptor
// passed checkContent.
func (p *parser) blockEntries(s *Section, nsec int) ([]BlockEntry, error) {
	if int64(s.BlockCount) > int64(nsec) {
		return nil, p.fail(s.Index, s.Type, s.DescriptorOffset, ErrBadIndex, "block_count %d exceeds the %d sections of the file", s.BlockCount, nsec)
	}
	if s.BlockCount == 0 {
		return nil, nil
	}
	b, err := p.readAt(s.ContentOffset, uint64(s.BlockCount)*BlockIndexEntrySize)
	if err != nil {
		return nil, err
	}
	out := make([]BlockEntry, s.BlockCount)
	for i := range out {
		out[i].Number = binary.LittleEndian.Uint64(b[i*BlockIndexEntrySize:])
		out[i].ContentOffset = binary.LittleEndian.Uint64(b[i*BlockIndexEntrySize+8:])
	}
	return out, nil
}

// link checks what descriptors say about each other (spec §5.3, §9,
// §11.2 items 9–11, §12.11) and builds the layout's lookup tables.
func (p *parser) link(lay *layout) error {
	secs := lay.sections
	lay.byDesc = make(map[uint64]int, len(secs))
	lay.bundlePos = make([]int, len(secs))
	blockIdx := -1
	for i := range secs {
		s := &secs[i]
		lay.bundlePos[i] = -1
		if s.Type == SectionLink {
			continue
		}
		lay.byDesc[s.DescriptorOffset] = i
		switch s.Type {
		case SectionSchema:
			if lay.hasSchema(s.ContentType) {
				return p.fail(i, s.Type, s.DescriptorOffset, ErrBadSection, "a second SCHEMA for content type %v", s.ContentType)
			}
			lay.schemas = append(lay.schemas, Schema{ContentType: s.ContentType, Hash: s.SchemaHash, DescriptorOffset: s.DescriptorOffset})
		case SectionEventBundle:
			lay.bundlePos[i] = len(lay.bundles)
			lay.bundles = append(lay.bundles, i)
			if lay.events+s.EventCount < lay.events {
				return p.fail(i, s.Type, s.DescriptorOffset, ErrBadSection, "event counts overflow")
			}
			lay.events += s.EventCount
		case SectionBlockIndex:
			if blockIdx >= 0 {
				return p.fail(i, s.Type, s.DescriptorOffset, ErrBadSection, "a second block index (the first is section %d)", blockIdx)
			}
			blockIdx = i
		}
	}
	preview := lay.kind == LayoutPreview
	for _, i := range lay.bundles {
		s := &secs[i]
		if preview {
			j, ok := lay.byDesc[s.SchemaDesc]
			if !ok || secs[j].Type != SectionSchema {
				return p.fail(i, s.Type, s.DescriptorOffset, ErrBadSection, "schema_desc_offset %d does not name a SCHEMA", s.SchemaDesc)
			}
			s.ContentType = secs[j].ContentType
		}
		if s.SeqnoIndexDesc == 0 {
			continue
		}
		j, ok := lay.byDesc[s.SeqnoIndexDesc]
		if !ok || secs[j].Type != SectionSeqnoIndex || secs[j].BundleDesc != s.DescriptorOffset {
			return p.fail(i, s.Type, s.DescriptorOffset, ErrBadSection, "seqno_index_desc_offset %d does not name this bundle's SEQNO_INDEX", s.SeqnoIndexDesc)
		}
		if want := s.EventCount * 8; secs[j].Size() != want {
			return p.fail(j, SectionSeqnoIndex, secs[j].DescriptorOffset, ErrBadIndex, "%d bytes of content, want 8 × %d events = %d", secs[j].Size(), s.EventCount, want)
		}
	}
	for i := range secs {
		s := &secs[i]
		if s.Type != SectionSeqnoIndex {
			continue
		}
		j, ok := lay.byDesc[s.BundleDesc]
		if !ok || secs[j].Type != SectionEventBundle || secs[j].SeqnoIndexDesc != s.DescriptorOffset {
			return p.fail(i, s.Type, s.DescriptorOffset, ErrBadSection, "event_bundle_desc_offset %d does not name a bundle linked to this index", s.BundleDesc)
		}
	}
	if blockIdx >= 0 {
		if err := p.linkBlocks(lay, blockIdx); err != nil {
			return err
		}
	} else if preview {
		for _, i := range lay.bundles {
			if secs[i].BlockNumber != 0 {
				lay.blocks = append(lay.blocks, BlockEntry{Number: secs[i].BlockNumber, ContentOffset: secs[i].ContentOffset, Section: i})
			}
		}
	} else {
		for _, i := range lay.bundles {
			if secs[i].BlockIndexID != 0 {
				return p.fail(i, secs[i].Type, secs[i].DescriptorOffset, ErrBadSection, "block_index_id %d in a file without BLOCK_INDEX", secs[i].BlockIndexID)
			}
		}
	}
	if len(lay.blocks) > 0 {
		lay.blockNum = make(map[uint64]int, len(lay.blocks))
		for k, e := range lay.blocks {
			if _, dup := lay.blockNum[e.Number]; !dup {
				lay.blockNum[e.Number] = k
			}
		}
	}
	return nil
}

// linkBlocks checks the block index's entries against the bundles (spec
// §9, §11.2 item 10, §12.5.4).
func (p *parser) linkBlocks(lay *layout, bi int) error {
	secs := lay.sections
	s := &secs[bi]
	entries, err := p.blockEntries(s, len(secs))
	if err != nil {
		return err
	}
	preview := lay.kind == LayoutPreview
	if len(entries) == 0 && s.StartBlock != 0 {
		return p.fail(bi, s.Type, s.DescriptorOffset, ErrBadIndex, "start_block %d without entries", s.StartBlock)
	}
	byEntry := bundlesByEntry(secs, lay.bundles, preview)
	for i, e := range entries {
		at := s.ContentOffset + uint64(i)*BlockIndexEntrySize
		if i == 0 && e.Number != s.StartBlock {
			return p.fail(bi, s.Type, at, ErrBadIndex, "start_block %d, but entry 0 is block %d", s.StartBlock, e.Number)
		}
		if i > 0 && e.Number <= entries[i-1].Number {
			return p.fail(bi, s.Type, at, ErrBadIndex, "entry %d is block %d, not above entry %d's block %d", i, e.Number, i-1, entries[i-1].Number)
		}
		found, ok := byEntry[entryKey(i, e, preview)]
		if !ok {
			return p.fail(bi, s.Type, at, ErrBadIndex, "entry %d (block %d) names content offset %d, where no bundle of that entry is", i, e.Number, e.ContentOffset)
		}
		if !preview {
			secs[found].BlockNumber = e.Number
		}
		e.Section = found
		lay.blocks = append(lay.blocks, e)
	}
	if !preview {
		for _, i := range lay.bundles {
			if id := secs[i].BlockIndexID; id != 0 && (uint64(id) > uint64(len(entries)) || entries[id-1].ContentOffset != secs[i].ContentOffset) {
				return p.fail(i, secs[i].Type, secs[i].DescriptorOffset, ErrBadIndex, "block_index_id %d names no entry of the %d-entry block index", id, len(entries))
			}
		}
	}
	return nil
}

// bundleKey identifies the bundle a block index entry names: its content
// offset and, in the release layout, the entry's 1-based position
// (block_index_id) or, in the preview layout, the block number.
type bundleKey struct{ offset, id uint64 }

// bundlesByEntry maps each bundle to the key a block index entry would name
// it by; where several bundles share a key the first wins. One map lookup
// per entry keeps opening a file linear in its sections, however many
// bundles a hostile file stacks at one content offset.
func bundlesByEntry(secs []Section, bundles []int, preview bool) map[bundleKey]int {
	m := make(map[bundleKey]int, len(bundles))
	for _, j := range bundles {
		k := bundleKey{secs[j].ContentOffset, uint64(secs[j].BlockIndexID)}
		if preview {
			k.id = secs[j].BlockNumber
		}
		if _, dup := m[k]; !dup {
			m[k] = j
		}
	}
	return m
}

// entryKey is the bundleKey block index entry i names.
func entryKey(i int, e BlockEntry, preview bool) bundleKey {
	if preview {
		return bundleKey{e.ContentOffset, e.Number}
	}
	return bundleKey{e.ContentOffset, uint64(i + 1)}
}
