package blocks

import "testing"

// TestScratchTrim: trim keeps the first chunks up to keep elements, clears
// them and releases the rest; reset alone keeps everything for reuse.
func TestScratchTrim(t *testing.T) {
	var a scratch[*int]
	a.chunk, a.keep = 4, 10
	x := new(int)
	for range 4 {
		s := a.take(4)
		for i := range s {
			s[i] = x
		}
	}
	big := a.take(100) // one oversized chunk
	big[0] = x
	if len(a.chunks) != 5 || a.size != 116 || !a.oversized() {
		t.Fatalf("%d chunks, size %d, oversized %v; want 5, 116, true", len(a.chunks), a.size, a.oversized())
	}
	a.reset()
	if len(a.chunks) != 5 || a.size != 116 {
		t.Fatalf("reset released memory: %d chunks, size %d", len(a.chunks), a.size)
	}
	a.trim()
	if len(a.chunks) != 2 || a.size != 8 || a.oversized() {
		t.Fatalf("after trim: %d chunks, size %d; want the first 2 chunks (8 of keep 10)", len(a.chunks), a.size)
	}
	for _, p := range a.chunks[:cap(a.chunks)] {
		for _, e := range p {
			if e != nil {
				t.Fatal("trim left a pointer in a kept chunk")
			}
		}
	}
	for _, p := range a.chunks[len(a.chunks):cap(a.chunks)] {
		if p != nil {
			t.Fatal("trim left a released chunk in the chunk list's backing array")
		}
	}
	// Kept chunks are reused before anything is allocated.
	first := &a.chunks[0][0]
	if s := a.take(4); &s[0] != first {
		t.Error("take after trim did not reuse the kept chunk")
	}
}

// TestScratchKeep: every scratch of a Builder keeps about scratchKeepBytes
// and at least one chunk; the transaction slots kept are bounded the same
// way.
func TestScratchKeep(t *testing.T) {
	b := NewBuilder(BuilderOptions{})
	if b.bytes.keep != scratchKeepBytes || b.b32.keep != scratchKeepBytes/32 {
		t.Errorf("bytes keep %d, b32 keep %d; want %d, %d", b.bytes.keep, b.b32.keep, scratchKeepBytes, scratchKeepBytes/32)
	}
	if b.auths.keep < b.auths.chunk {
		t.Errorf("auths keep %d below one chunk %d", b.auths.keep, b.auths.chunk)
	}
	if keepTxns < 10000 {
		t.Errorf("keepTxns %d: a busy real block (about 9 500 transfers in 200 M gas) would reallocate", keepTxns)
	}
}
