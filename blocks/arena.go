package blocks

import "unsafe"

// scratch is a reusable bump allocator for the block in progress. Its memory
// belongs to the builder and is recycled for every block, so copying event
// data out of the ring allocates nothing once the chunks have grown to the
// working size. A finished block is compacted into freshly allocated,
// exactly sized memory (compactor) before it is handed out.
type scratch[T any] struct {
	chunks [][]T
	ci     int // current chunk
	off    int // next free element in chunks[ci]
	chunk  int // minimum chunk length
	// keep is how many elements trim lets the scratch hold on to between
	// blocks; size is the sum of the chunks' lengths.
	keep, size int
}

// init sets the minimum chunk length and how much trim keeps (about
// scratchKeepBytes, at least one chunk).
func (a *scratch[T]) init(chunk int) {
	var z T
	a.chunk = chunk
	a.keep = max(chunk, scratchKeepBytes/max(1, int(unsafe.Sizeof(z))))
}

// reset recycles all memory handed out so far.
func (a *scratch[T]) reset() { a.ci, a.off = 0, 0 }

// oversized reports whether the scratch holds more than keep elements.
func (a *scratch[T]) oversized() bool { return a.size > a.keep }

// trim recycles all memory handed out so far, like reset, and releases
// the chunks past the first keep elements, so that one huge block (a
// hostile producer's, within the builder's limits) does not stay pinned
// for the builder's life. Nothing may refer to the released chunks.
func (a *scratch[T]) trim() {
	a.reset()
	n, k := 0, 0
	for k < len(a.chunks) && n+len(a.chunks[k]) <= a.keep {
		n += len(a.chunks[k])
		k++
	}
	clear(a.chunks[k:]) // the backing array must not pin them
	a.chunks, a.size = a.chunks[:k], n
	for _, c := range a.chunks {
		clear(c) // elements may point into released chunks of another scratch
	}
}

// take returns a slice of n elements with cap n (nil for n <= 0). The
// elements are not cleared.
func (a *scratch[T]) take(n int) []T {
	if n <= 0 {
		return nil
	}
	for {
		if a.ci < len(a.chunks) {
			if c := a.chunks[a.ci]; a.off+n <= len(c) {
				s := c[a.off : a.off+n : a.off+n]
				a.off += n
				return s
			}
			a.ci, a.off = a.ci+1, 0
			continue
		}
		c := make([]T, max(a.chunk, n))
		a.chunks = append(a.chunks, c)
		a.size += len(c)
	}
}

// push appends v to s, a slice taken from a, moving s to a scratch slice of
// twice the capacity when it is full (the old one is recycled at reset).
// Lists grow with the events that fill them, never with a count an event
// announces.
func (a *scratch[T]) push(s []T, v T) []T {
	if len(s) == cap(s) {
		d := a.take(max(2*cap(s), 4))[:len(s)]
		copy(d, s)
		s = d
	}
	return append(s, v)
}

// clone returns a scratch copy of src (nil when src is empty).
func (a *scratch[T]) clone(src []T) []T {
	d := a.take(len(src))
	copy(d, src)
	return d
}

// pool is an exactly sized allocation that a compacted block's slices of
// one element type are carved from.
type pool[T any] struct {
	buf []T
	n   int // elements counted in the sizing pass
}

func (p *pool[T]) count(s []T) { p.n += len(s) }

func (p *pool[T]) alloc() {
	p.buf = nil
	if p.n > 0 {
		p.buf = make([]T, p.n)
	}
	p.n = 0
}

// move copies s into the pool and returns the copy (nil for empty s).
func (p *pool[T]) move(s []T) []T {
	if len(s) == 0 {
		return nil
	}
	d := p.buf[:len(s):len(s)]
	copy(d, s)
	if p.buf = p.buf[len(s):]; len(p.buf) == 0 {
		p.buf = nil // its end would pin the block handed out
	}
	return d
}
