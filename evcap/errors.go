package evcap

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error about a file's contents is a *FormatError
// wrapping one of the first group (test with errors.Is); it names the file,
// the section and the file offset of what is wrong.
var (
	// ErrBadMagic: the file does not start with "EVCAP_01" (not a capture,
	// or another format version).
	ErrBadMagic = errors.New("evcap: not an event capture file (bad magic or version)")
	// ErrWrongLayout: the file has the other layout of the same magic
	// (release vs preview) than the one OpenOptions.Layout demands.
	ErrWrongLayout = errors.New("evcap: capture file of the other layout")
	// ErrBadHeader: the file header is inconsistent.
	ErrBadHeader = errors.New("evcap: invalid file header")
	// ErrBadSectionTable: a section table is malformed: a LINK out of place
	// or forming a loop, a full table without a LINK, non-zero unused
	// slots, a descriptor count that disagrees with the header.
	ErrBadSectionTable = errors.New("evcap: invalid section table")
	// ErrBadSection: a section descriptor lies: unknown type or
	// compression, a wrong self offset, content outside the file, non-zero
	// reserved bytes, cross-references to the wrong sections.
	ErrBadSection = errors.New("evcap: invalid section descriptor")
	// ErrBadRecord: an EVENT_BUNDLE's content does not hold the records
	// its descriptor declares (a record runs past the end, too few or too
	// many records, seqnos out of order, an unknown content type, non-zero
	// padding).
	ErrBadRecord = errors.New("evcap: invalid event record")
	// ErrBadIndex: a SEQNO_INDEX or BLOCK_INDEX entry does not point where
	// it must.
	ErrBadIndex = errors.New("evcap: invalid index entry")
	// ErrBadCompression: a compressed section is not valid zstd, or does
	// not decompress to exactly its content_length.
	ErrBadCompression = errors.New("evcap: corrupt compressed section")
	// ErrTruncated: the file is shorter than its header or sections say
	// (it may have been truncated while open).
	ErrTruncated = errors.New("evcap: file shorter than its sections")
	// ErrTooLarge: a section or the section count exceeds the limits of
	// OpenOptions (MaxSectionSize, MaxSections).
	ErrTooLarge = errors.New("evcap: section exceeds the configured limit")
)

// Errors of lookups and of the API.
var (
	// ErrNotFound: Seek or SeekBlock found no such event or block.
	ErrNotFound = errors.New("evcap: not in the file")
	// ErrNoBlockIndex: SeekBlock on a file that has neither a block index
	// nor bundles with block numbers.
	ErrNoBlockIndex = errors.New("evcap: file has no block index")
	// ErrClosed: the File or Writer was closed.
	ErrClosed = errors.New("evcap: closed")
	// ErrChanged: Refresh found the file changed in a way a growing
	// capture never does (sections replaced or removed).
	ErrChanged = errors.New("evcap: file changed under the reader")
	// ErrBadEvent: Writer input was refused: a payload whose length is
	// not the descriptor's payload size, a content type without a SCHEMA,
	// a seqno that does not follow the bundle's previous one, a block
	// number not above the previous block's.
	ErrBadEvent = errors.New("evcap: event refused by the writer")
)

// FormatError describes what is wrong in a capture file. It wraps one of
// the format sentinels (ErrBadHeader, ErrBadSection, ErrBadRecord, ...).
type FormatError struct {
	Path    string      // the file's name ("" for NewFile without one)
	Section int         // section number, -1 for the header and section tables
	Type    SectionType // the section's type, when Section >= 0
	Offset  uint64      // file offset of the offending structure
	Pos     int64       // position in the section's (decompressed) content, -1 if none
	Msg     string      // what is wrong
	Err     error       // the sentinel
}

// Error names the file, the place and the fault.
func (e *FormatError) Error() string {
	where := fmt.Sprintf("offset %d", e.Offset)
	if e.Section >= 0 {
		where = fmt.Sprintf("section %d (%v) at offset %d", e.Section, e.Type, e.Offset)
		if e.Pos >= 0 {
			where += fmt.Sprintf(", content position %d", e.Pos)
		}
	}
	name := e.Path
	if name == "" {
		name = "capture"
	}
	return fmt.Sprintf("evcap: %s: %s: %s (%v)", name, where, e.Msg, sentinelText(e.Err))
}

// Unwrap returns the sentinel.
func (e *FormatError) Unwrap() error { return e.Err }

// sentinelText is the sentinel's message without the package prefix.
func sentinelText(err error) string {
	s := err.Error()
	if len(s) > 7 && s[:7] == "evcap: " {
		return s[7:]
	}
	return s
}
