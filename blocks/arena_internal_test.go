package blocks

import (
	"testing"
	"unsafe"
)

// TestArenaTrim: trim keeps the first chunks up to keep elements and
// releases the rest; reset alone keeps everything for reuse.
func TestArenaTrim(t *testing.T) {
	var a arena[int64]
	a.chunk, a.keep = 4, 10
	for range 4 {
		a.take(4)
	}
	a.take(100) // one oversized chunk
	if len(a.chunks) != 5 || a.size != 116 || !a.oversized() || a.handed() != 116 {
		t.Fatalf("%d chunks, size %d, handed %d, oversized %v; want 5, 116, 116, true", len(a.chunks), a.size, a.handed(), a.oversized())
	}
	a.reset()
	if len(a.chunks) != 5 || a.size != 116 || a.handed() != 0 {
		t.Fatalf("reset released memory or kept elements: %d chunks, size %d, handed %d", len(a.chunks), a.size, a.handed())
	}
	first := &a.chunks[0][:1][0]
	a.trim()
	if len(a.chunks) != 2 || a.size != 8 || a.oversized() {
		t.Fatalf("after trim: %d chunks, size %d; want the first 2 chunks (8 of keep 10)", len(a.chunks), a.size)
	}
	for _, p := range a.chunks[len(a.chunks):cap(a.chunks)] {
		if p != nil {
			t.Fatal("trim left a released chunk in the chunk list's backing array")
		}
	}
	// Kept chunks are reused before anything is allocated.
	if s := a.take(4); a.at(s, 0) != first {
		t.Error("take after trim did not reuse the kept chunk")
	}
}

// TestArenaPush: lists filled one element at a time grow in place while
// they end the arena, move (doubling) when another list was taken after
// them, and always read back what was pushed, in order.
func TestArenaPush(t *testing.T) {
	var a arena[int64]
	a.init(16)
	var x, y span
	for i := range 3 {
		x = a.push(x, int64(i))
	}
	if x.off != 0 || x.n != 3 || a.handed() != 3 {
		t.Fatalf("list %+v, arena %d elements; want 3 elements in place at 0", x, a.handed())
	}
	// Interleaved lists: y is taken after x, so x must move.
	for i := range 5 {
		y = a.push(y, int64(100+i))
		x = a.push(x, int64(3+i))
	}
	for i, v := range a.view(x) {
		if v != int64(i) {
			t.Fatalf("x[%d] = %d, want %d", i, v, i)
		}
	}
	for i, v := range a.view(y) {
		if v != int64(100+i) {
			t.Fatalf("y[%d] = %d, want %d", i, v, 100+i)
		}
	}
	if x.n != 8 || y.n != 5 {
		t.Fatalf("lengths %d, %d; want 8, 5", x.n, y.n)
	}
	// Moves double a list, so what they leave behind stays within twice
	// the lists' lengths: here x had 3 then 6 places in the first chunk,
	// then 12 in a second one; y had 1, then 2 that grew in place to 4,
	// then 8 in a third chunk.
	if h := a.handed(); h != 34 {
		t.Errorf("%d elements handed out, want 34", h)
	}
	// Lists longer than a chunk get a chunk of their own.
	var z span
	for i := range 40 {
		z = a.push(z, int64(i))
	}
	for i, v := range a.view(z) {
		if v != int64(i) {
			t.Fatalf("z[%d] = %d", i, v)
		}
	}
	c := a.clone([]int64{7})
	if got := a.view(c); len(got) != 1 || got[0] != 7 {
		t.Fatalf("clone %v", got)
	}
	if a.view(span{}) != nil {
		t.Fatal("view of an empty list is not nil")
	}
}

// TestPoolMove: a pool filled with the whole arena hands out the lists at
// their offsets; one filled with part of it copies them one by one; both
// give capped copies that do not share the arena's memory.
func TestPoolMove(t *testing.T) {
	var a arena[byte]
	a.init(5)
	s1 := a.clone([]byte("abc"))
	s2 := a.clone([]byte("defg")) // a second chunk
	if s2.k != 1 {
		t.Fatalf("second list in chunk %d, want 1", s2.k)
	}
	for _, n := range []int{7, 4} {
		var p pool[byte]
		p.fill(&a, n)
		var got []byte
		if n == 7 {
			got = p.move(&a, s1)
			if string(got) != "abc" || cap(got) != 3 {
				t.Fatalf("whole pool: first list %q cap %d", got, cap(got))
			}
		}
		got = p.move(&a, s2)
		if string(got) != "defg" || cap(got) != 4 {
			t.Fatalf("pool of %d: list %q cap %d", n, got, cap(got))
		}
		if unsafe.SliceData(got) == a.at(s2, 0) {
			t.Fatal("moved list shares the arena's memory")
		}
		p.release()
		if p.buf != nil {
			t.Fatal("release kept the pool's memory")
		}
	}
}

// TestScratchKeep: every arena of a Builder keeps about scratchKeepBytes;
// the transaction slots kept are bounded the same way.
func TestScratchKeep(t *testing.T) {
	b := NewBuilder(BuilderOptions{})
	if b.bytes.keep != scratchKeepBytes || b.b32.keep != scratchKeepBytes/32 {
		t.Errorf("bytes keep %d, b32 keep %d; want %d, %d", b.bytes.keep, b.b32.keep, scratchKeepBytes, scratchKeepBytes/32)
	}
	if b.auths.keep == 0 || b.accs.keep == 0 {
		t.Errorf("auths keep %d, accs keep %d", b.auths.keep, b.accs.keep)
	}
	if keepTxns < 10000 {
		t.Errorf("keepTxns %d: a busy real block (about 9 500 transfers in 200 M gas) would reallocate", keepTxns)
	}
}
