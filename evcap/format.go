package evcap

import (
	"encoding/binary"
	"strconv"

	"github.com/monadgo/events/eventring"
)

// Format constants (evcap spec §0–§5, §9, §12.2).
const (
	// Magic is the 8-byte tag at file offset 0 of both layouts ("EVCAP_" +
	// format version "01").
	Magic = "EVCAP_01"

	// PageSize is P, the page size of every known writer (x86-64 Linux),
	// and the one Writer uses: section contents start on multiples of it
	// and the file length is one.
	PageSize = 4096

	// SectionDescSize is the size of one section descriptor.
	SectionDescSize = 128

	// SectionTableEntries is the number of descriptors in a release-layout
	// section table, and SectionTableSize its size in bytes (the header's
	// sectab_size).
	SectionTableEntries = 2048
	SectionTableSize    = SectionTableEntries * SectionDescSize

	// BlockIndexCapacity is the number of entries of the BLOCK_INDEX the
	// v1.1 block recorder (and Writer) pre-sizes: 2^18 (spec §5.4, §9).
	BlockIndexCapacity = 1 << 18

	// BlockIndexEntrySize is the size of one BLOCK_INDEX (or preview
	// PACK_INDEX) entry: block number, then the bundle's content offset.
	BlockIndexEntrySize = 16

	fileHeaderSize      = 32 // release header
	previewDirOffset    = 64 // preview: the table directory
	descriptorSize      = eventring.DescriptorSize
	previewMinShift     = 5  // log2(P / 128)
	previewMaxShift     = 24 // sanity cap (spec §12.11)
	releaseTrailerSize  = 2  // u16 content type after a release record
	previewTrailerSize  = 8  // u64 L after a preview record
	minReleaseRecord    = descriptorSize + releaseTrailerSize
	minPreviewRecord    = descriptorSize + previewTrailerSize
	recordAlign         = 64
	previewDirAlignment = PageSize
)

// RingMagic is the event ring format a SCHEMA section names ("RING01").
const RingMagic = eventring.Magic

// Layout says which of the two incompatible layouts sharing the magic
// "EVCAP_01" a file uses (spec §12.1).
type Layout uint8

// Layouts. LayoutAuto is only an OpenOptions value: Open decides by content.
const (
	LayoutAuto    Layout = iota // OpenOptions: tell the layouts apart (u64 at file offset 16)
	LayoutRelease               // SDK release v1.0/v1.1: 32-byte header, LINK-chained tables
	LayoutPreview               // the older preview: table directory in the header page, no LINKs
)

// String returns "auto", "release" or "preview".
func (l Layout) String() string {
	switch l {
	case LayoutAuto:
		return "auto"
	case LayoutRelease:
		return "release"
	case LayoutPreview:
		return "preview"
	}
	return "Layout(" + strconv.Itoa(int(l)) + ")"
}

// SectionType is a section's type, with the release layout's codes (spec
// §5). Preview files use other codes for the same types (spec §12.4); they
// are translated when read, so that both layouts report the same values.
type SectionType uint16

// Section types (release codes).
const (
	SectionNone        SectionType = 0 // end of a release table's list; never a section
	SectionLink        SectionType = 1 // release only: the next section table
	SectionSchema      SectionType = 2 // the schema of one content type; no content
	SectionEventBundle SectionType = 3 // event records
	SectionSeqnoIndex  SectionType = 4 // u64 record positions of one bundle
	SectionBlockIndex  SectionType = 5 // 16-byte block entries (the preview's PACK_INDEX)
)

// String returns the C enumerator's suffix ("EVENT_BUNDLE", ...).
func (t SectionType) String() string {
	switch t {
	case SectionNone:
		return "NONE"
	case SectionLink:
		return "LINK"
	case SectionSchema:
		return "SCHEMA"
	case SectionEventBundle:
		return "EVENT_BUNDLE"
	case SectionSeqnoIndex:
		return "SEQNO_INDEX"
	case SectionBlockIndex:
		return "BLOCK_INDEX"
	}
	return "SectionType(" + strconv.Itoa(int(t)) + ")"
}

// previewTypes maps preview type codes (spec §12.4) to SectionType.
var previewTypes = [...]SectionType{SectionNone, SectionSchema, SectionEventBundle, SectionSeqnoIndex, SectionBlockIndex}

// Compression is a section's content encoding (spec §6).
type Compression uint8

// Compression codes. The two zstd codes mean the same to a reader: one
// zstd frame (several concatenated frames are accepted too) that
// decompresses to exactly the section's content_length bytes.
const (
	CompressionNone           Compression = 0
	CompressionZstdSinglePass Compression = 1
	CompressionZstdStreaming  Compression = 2
)

// String returns "NONE", "ZSTD_SINGLE_PASS" or "ZSTD_STREAMING".
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "NONE"
	case CompressionZstdSinglePass:
		return "ZSTD_SINGLE_PASS"
	case CompressionZstdStreaming:
		return "ZSTD_STREAMING"
	}
	return "Compression(" + strconv.Itoa(int(c)) + ")"
}

// Section is one section descriptor, decoded and checked. Sections are
// numbered in section order (the writer's allocation order, which is the
// order readers use): in release files LINK descriptors are counted, as
// they are in the header's section_count.
//
// The fields after FileLength belong to one section type each and are zero
// for the others.
type Section struct {
	Index            int         // position in section order
	Type             SectionType // release codes for both layouts
	Compression      Compression // of the content (EVENT_BUNDLE and SEQNO_INDEX only)
	DescriptorOffset uint64      // file offset of the descriptor
	ContentOffset    uint64      // file offset of the (stored) content; LINK: the next table
	ContentLength    uint64      // as stored; authoritative only for compressed sections (spec §4)
	FileLength       uint64      // content bytes stored in the file (compressed size if compressed)

	// SCHEMA (ContentType also for preview EVENT_BUNDLEs: that of their
	// SCHEMA, which all their records have).
	ContentType eventring.ContentType
	SchemaHash  [32]byte // the schema hash of ContentType

	// EVENT_BUNDLE.
	EventCount     uint64 // number of records
	StartSeqno     uint64 // seqno of the first record (0 if none)
	BlockIndexID   uint32 // release: n >= 1 names BLOCK_INDEX entry n-1; preview: pack_index_id (always 0)
	SeqnoIndexDesc uint64 // descriptor offset of the bundle's SEQNO_INDEX, 0 if none
	SchemaDesc     uint64 // preview: descriptor offset of the SCHEMA of every record
	BlockNumber    uint64 // preview: block_number; release: the BLOCK_INDEX entry's block, if any
	BundleDesc     uint64 // SEQNO_INDEX: descriptor offset of its EVENT_BUNDLE
	StartBlock     uint64 // BLOCK_INDEX: block number of entry 0
	BlockCount     uint32 // BLOCK_INDEX: valid entries
	EntryCapacity  uint32 // BLOCK_INDEX: entry slots
	IsActive       bool   // BLOCK_INDEX: a writer still has the file open
}

// Size returns the size of the section's content as a reader sees it: the
// decompressed size (ContentLength) of a compressed section, FileLength of
// an uncompressed EVENT_BUNDLE or SEQNO_INDEX (spec §4: content_length is
// not reliable there), and 0 for types without content.
func (s *Section) Size() uint64 {
	switch s.Type {
	case SectionEventBundle, SectionSeqnoIndex:
		if s.Compression != CompressionNone {
			return s.ContentLength
		}
		return s.FileLength
	case SectionBlockIndex:
		return s.FileLength
	}
	return 0
}

// Schema is one SCHEMA section: the event schema of one content type used
// in the file (spec §5.1). Its ring magic is always RingMagic (anything
// else is refused).
type Schema struct {
	ContentType      eventring.ContentType // 1 TEST, 2 EXEC
	Hash             [32]byte              // schema hash of that content type
	DescriptorOffset uint64                // where the SCHEMA descriptor is (0 in Writer input)
}

// BlockEntry is one valid entry of a block index, or, in a preview file
// without one, a bundle that carries a block number (spec §9, §12.5.4,
// §12.10): the finalized block whose events bundle Section holds.
type BlockEntry struct {
	Number        uint64 // block number
	ContentOffset uint64 // the bundle's content offset (the entry's second field)
	Section       int    // the bundle's section number
}

// rawDesc is a 128-byte section descriptor before interpretation.
type rawDesc struct {
	typ        uint16
	comp       uint8
	pad        uint8
	word4      uint32 // release: zero; preview: index
	descOff    uint64
	contentOff uint64
	contentLen uint64
	fileLen    uint64
	tail       [88]byte // type-specific area (descriptor offset 40)
}

func parseRawDesc(b []byte) rawDesc {
	var d rawDesc
	d.typ = binary.LittleEndian.Uint16(b[0:])
	d.comp = b[2]
	d.pad = b[3]
	d.word4 = binary.LittleEndian.Uint32(b[4:])
	d.descOff = binary.LittleEndian.Uint64(b[8:])
	d.contentOff = binary.LittleEndian.Uint64(b[16:])
	d.contentLen = binary.LittleEndian.Uint64(b[24:])
	d.fileLen = binary.LittleEndian.Uint64(b[32:])
	copy(d.tail[:], b[40:128])
	return d
}

func (d *rawDesc) u64(off int) uint64 { return binary.LittleEndian.Uint64(d.tail[off:]) }
func (d *rawDesc) u32(off int) uint32 { return binary.LittleEndian.Uint32(d.tail[off:]) }
func (d *rawDesc) u16(off int) uint16 { return binary.LittleEndian.Uint16(d.tail[off:]) }

// zeroFrom reports whether the type-specific area is zero from off on.
func (d *rawDesc) zeroFrom(off int) bool { return allZero(d.tail[off:]) }

func allZero(b []byte) bool {
	// Eight bytes at a time: record padding is up to 63 bytes, and
	// section tables and pages are checked whole.
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// putDescriptor encodes d as the 64 bytes of a ring descriptor (spec
// §2.3 of the ring ABI).
func putDescriptor(b []byte, d *eventring.Descriptor) {
	_ = b[63]
	binary.LittleEndian.PutUint64(b[0:], d.Seqno)
	binary.LittleEndian.PutUint64(b[8:], uint64(d.EventType)|uint64(d.PayloadSize)<<32)
	binary.LittleEndian.PutUint64(b[16:], d.RecordEpochNanos)
	binary.LittleEndian.PutUint64(b[24:], d.PayloadBufOffset)
	binary.LittleEndian.PutUint64(b[32:], d.ContentExt[0])
	binary.LittleEndian.PutUint64(b[40:], d.ContentExt[1])
	binary.LittleEndian.PutUint64(b[48:], d.ContentExt[2])
	binary.LittleEndian.PutUint64(b[56:], d.ContentExt[3])
}

// getDescriptor decodes 64 bytes into d. The two unused bytes at offset
// 10 are not kept: eventring.Descriptor has no field for them.
func getDescriptor(b []byte, d *eventring.Descriptor) {
	_ = b[63]
	d.Seqno = binary.LittleEndian.Uint64(b[0:])
	w := binary.LittleEndian.Uint64(b[8:])
	d.EventType = uint16(w)
	d.PayloadSize = uint32(w >> 32)
	d.RecordEpochNanos = binary.LittleEndian.Uint64(b[16:])
	d.PayloadBufOffset = binary.LittleEndian.Uint64(b[24:])
	d.ContentExt[0] = binary.LittleEndian.Uint64(b[32:])
	d.ContentExt[1] = binary.LittleEndian.Uint64(b[40:])
	d.ContentExt[2] = binary.LittleEndian.Uint64(b[48:])
	d.ContentExt[3] = binary.LittleEndian.Uint64(b[56:])
}

func roundUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
