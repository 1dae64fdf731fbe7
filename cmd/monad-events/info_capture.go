package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/execevents"
)

// captureInfo is what info reports for a capture file; its JSON form is
// the --json output.
type captureInfo struct {
	Path        string          `json:"path"`
	Kind        string          `json:"kind"` // "capture"
	Layout      string          `json:"layout"`
	Bytes       int64           `json:"bytes"`
	Sections    int             `json:"sections"`
	Bundles     int             `json:"bundles"`
	Events      uint64          `json:"events"`
	FirstSeqno  uint64          `json:"firstSeqno"` // 0 when empty
	LastSeqno   uint64          `json:"lastSeqno"`
	Schemas     []captureSchema `json:"schemas"`
	Blocks      int             `json:"blocksIndexed"`
	FirstBlock  uint64          `json:"firstBlock,omitempty"`
	LastBlock   uint64          `json:"lastBlock,omitempty"`
	Active      bool            `json:"active"`   // a writer still has its block index open
	Verified    bool            `json:"verified"` // every bundle and index decoded and checked
	Compression map[string]int  `json:"compression"`
}

type captureSchema struct {
	ContentType   string `json:"contentType"`
	SchemaHash    string `json:"schemaHash"`
	SchemaMatches bool   `json:"schemaMatches"`
}

// infoCapture prints what a capture file holds after checking all of it
// (evcap's Verify): a hostile file gives an error, not a summary.
func infoCapture(ctx context.Context, e *env, path string, asJSON bool) error {
	f, err := evcap.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Verify(ctx); err != nil {
		return err
	}
	info := &captureInfo{Path: absPath(path), Kind: "capture", Layout: f.Layout().String(), Bytes: f.Size(),
		Sections: len(f.Sections()), Events: f.EventCount(), Active: f.Active(), Verified: true,
		Compression: map[string]int{}}
	bundles := f.Bundles()
	info.Bundles = len(bundles)
	for _, b := range bundles {
		if b.EventCount == 0 {
			continue
		}
		if info.FirstSeqno == 0 {
			info.FirstSeqno = b.StartSeqno
		}
		info.LastSeqno = b.StartSeqno + b.EventCount - 1
		info.Compression[b.Compression.String()]++
	}
	for _, s := range f.Schemas() {
		info.Schemas = append(info.Schemas, captureSchema{ContentType: s.ContentType.String(), SchemaHash: hex.EncodeToString(s.Hash[:]),
			SchemaMatches: s.ContentType == execevents.RingContentType && s.Hash == execevents.SchemaHash})
	}
	if blks := f.Blocks(); len(blks) > 0 {
		info.Blocks, info.FirstBlock, info.LastBlock = len(blks), blks[0].Number, blks[len(blks)-1].Number
	}
	if asJSON {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "path\t%s\n", info.Path)
	fmt.Fprintf(tw, "kind\tcapture (evcap, %s layout), %s, %d sections, all checked\n", info.Layout, size(uint64(info.Bytes)), info.Sections)
	for _, s := range info.Schemas {
		match := "matches this build"
		if !s.SchemaMatches {
			match = "does NOT match this build's " + hex.EncodeToString(execevents.SchemaHash[:])
		}
		fmt.Fprintf(tw, "schema\t%s %s (%s)\n", s.ContentType, s.SchemaHash, match)
	}
	fmt.Fprintf(tw, "events\t%d in %d bundle(s)", info.Events, info.Bundles)
	if info.Events > 0 {
		fmt.Fprintf(tw, ", seqnos %d..%d", info.FirstSeqno, info.LastSeqno)
	}
	fmt.Fprintln(tw)
	if info.Blocks > 0 {
		fmt.Fprintf(tw, "blocks\t%d indexed, %d..%d\n", info.Blocks, info.FirstBlock, info.LastBlock)
	}
	if info.Active {
		fmt.Fprintf(tw, "writer\tstill writing (its block index is active)\n")
	}
	return tw.Flush()
}
