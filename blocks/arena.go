package blocks

import "unsafe"

// The block in progress lives in arenas: growable arrays of pointer-free
// elements that the builder recycles for every block, so that copying
// event data out of the ring allocates nothing once they have grown to the
// working size. Lists refer to their elements by position (span), never by
// pointer: the arenas hold no pointers, so the garbage collector neither
// scans them nor makes the builder pay write barriers while a block is
// assembled. A finished block is compacted into freshly allocated, exactly
// sized memory (compactor) before it is handed out.

// span locates a list in an arena: its n elements start at off in chunk
// k, and the list may grow in place up to c elements.
type span struct {
	k, off, n, c int
}

// arena is a reusable store of pointer-free elements handed out as spans.
// Its memory is a list of chunks, each filled from the start (len is what
// was handed out, cap the chunk's size), so growing never copies what was
// handed out, and a take of n elements allocates at most n (or one minimum
// chunk) more.
type arena[T any] struct {
	chunks [][]T
	ci     int // current chunk
	chunk  int // minimum chunk length
	// keep is how many elements trim lets the arena hold on to between
	// blocks; size is the sum of the chunks' capacities.
	keep, size int
}

// init sets the minimum chunk length and how much trim keeps (about
// scratchKeepBytes, at least one chunk).
func (a *arena[T]) init(chunk int) {
	var z T
	a.chunk = chunk
	a.keep = max(chunk, scratchKeepBytes/max(1, int(unsafe.Sizeof(z))))
}

// reset recycles all elements handed out so far.
func (a *arena[T]) reset() {
	for k := range a.chunks[:min(a.ci+1, len(a.chunks))] {
		a.chunks[k] = a.chunks[k][:0]
	}
	a.ci = 0
}

// oversized reports whether the arena holds more than keep elements.
func (a *arena[T]) oversized() bool { return a.size > a.keep }

// trim recycles all elements, like reset, and releases the chunks past the
// first keep elements, so that one huge block (a hostile producer's, within
// the builder's limits) does not stay pinned for the builder's life.
func (a *arena[T]) trim() {
	a.reset()
	n, k := 0, 0
	for k < len(a.chunks) && n+cap(a.chunks[k]) <= a.keep {
		n += cap(a.chunks[k])
		k++
	}
	clear(a.chunks[k:]) // the backing array must not pin them
	a.chunks, a.size = a.chunks[:k], n
}

// handed returns how many elements were handed out since reset.
func (a *arena[T]) handed() int {
	n := 0
	for _, c := range a.chunks[:min(a.ci+1, len(a.chunks))] {
		n += len(c)
	}
	return n
}

// take returns a span of n elements (not cleared), full (c == n).
func (a *arena[T]) take(n int) span {
	if n <= 0 {
		return span{}
	}
	for {
		if a.ci < len(a.chunks) {
			if c := a.chunks[a.ci]; n <= cap(c)-len(c) {
				a.chunks[a.ci] = c[:len(c)+n]
				return span{k: a.ci, off: len(c), n: n, c: n}
			}
			if a.ci+1 < len(a.chunks) {
				a.ci++
				continue
			}
		}
		a.chunks = append(a.chunks, make([]T, 0, max(a.chunk, n)))
		a.size += max(a.chunk, n)
		a.ci = len(a.chunks) - 1
	}
}

// clone returns a span holding a copy of src.
func (a *arena[T]) clone(src []T) span {
	s := a.take(len(src))
	copy(a.view(s), src)
	return s
}

// push appends v to the list s and returns the list. A full list whose
// room ends where its chunk's elements end grows in place by one element
// when the chunk has room (lists are filled one event at a time, so it
// usually does), leaving nothing unused behind; any other full list moves
// to twice its length. Lists grow with the events that fill them, never
// with a count an event announces.
func (a *arena[T]) push(s span, v T) span {
	if s.n == s.c && !a.extend(&s) {
		d := a.take(max(2*s.n, 1))
		copy(a.view(d), a.view(s))
		d.n = s.n
		s = d
	}
	a.chunks[s.k][s.off+s.n] = v
	s.n++
	return s
}

// extend grows the room of the non-empty list s by one element in place,
// if its room ends where the current chunk's elements end and the chunk
// has room.
func (a *arena[T]) extend(s *span) bool {
	if s.c == 0 || s.k != a.ci {
		return false
	}
	c := a.chunks[s.k]
	if s.off+s.c != len(c) || len(c) == cap(c) {
		return false
	}
	a.chunks[s.k] = c[:len(c)+1]
	s.c++
	return true
}

// view returns the elements of s (nil for an empty list). It is valid
// until the arena is reset.
func (a *arena[T]) view(s span) []T {
	if s.n == 0 {
		return nil
	}
	return a.chunks[s.k][s.off : s.off+s.n : s.off+s.n]
}

// at returns the i-th element of s (i < s.n).
func (a *arena[T]) at(s span, i int) *T { return &a.chunks[s.k][s.off+i] }

// pool is the exactly sized allocation that a compacted block's slices of
// one pointer-free element type are carved from.
type pool[T any] struct {
	buf []T
	// base, when set, holds for each chunk of the arena where its elements
	// start in buf: buf is a copy of everything the arena handed out, all
	// of it in the block, and a list's copy is at the list's place.
	base  []int
	whole bool
}

// fill prepares the pool for n elements of arena a. When they are all the
// elements a handed out, buf is a copy of a's chunks made in one piece:
// memory filled by append is not zeroed first (make zeroes it, then every
// list would be copied over it), and no list is copied on its own.
func (p *pool[T]) fill(a *arena[T], n int) {
	p.buf, p.whole = nil, false
	switch {
	case n == 0:
	case n == a.handed():
		used := a.chunks[:a.ci+1]
		first := used[0]
		if rest := n - len(first); rest == 0 {
			p.buf = append([]T(nil), first...)
		} else {
			// One allocation for all; only the part after the first
			// chunk is zeroed (append grows the full slice).
			p.buf = append(first[:len(first):len(first)], make([]T, rest)...)[:len(first)]
		}
		p.base = append(p.base[:0], 0)
		for _, c := range used[1:] {
			p.base = append(p.base, len(p.buf))
			p.buf = append(p.buf, c...)
		}
		p.whole = true
	default:
		p.buf = make([]T, n)
	}
}

// move copies the list s of arena a into the pool and returns the copy
// (nil for an empty list); the copy's capacity is its length.
func (p *pool[T]) move(a *arena[T], s span) []T {
	if s.n == 0 {
		return nil
	}
	if p.whole {
		i := p.base[s.k] + s.off
		return p.buf[i : i+s.n : i+s.n]
	}
	d := p.buf[:s.n:s.n]
	copy(d, a.view(s))
	p.buf = p.buf[s.n:]
	return d
}

// release forgets the memory handed out, so that the pool pins no block.
func (p *pool[T]) release() { p.buf, p.whole = nil, false }

// carve returns the next n elements of *buf (nil for n == 0), capped.
func carve[T any](buf *[]T, n int) []T {
	if n == 0 {
		return nil
	}
	d := (*buf)[:n:n]
	*buf = (*buf)[n:]
	return d
}
