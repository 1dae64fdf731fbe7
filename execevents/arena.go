//go:build wip

package execevents

// arena hands out capped sub-slices of large chunks so that copying event
// data into a block costs an allocation per chunk instead of per event.
// Chunks are never reused: slices already handed out (to blocks the caller
// may keep) stay untouched, and the garbage collector frees a chunk once no
// block refers to it.
type arena[T any] struct {
	buf   []T
	chunk int // elements per chunk
}

// take returns a zeroed slice of n elements with cap n (nil for n == 0).
func (a *arena[T]) take(n int) []T {
	if n <= 0 {
		return nil
	}
	if n > len(a.buf) {
		if n > a.chunk/4 {
			// Large requests get their own allocation so they do not
			// waste the rest of a chunk.
			return make([]T, n)
		}
		a.buf = make([]T, a.chunk)
	}
	s := a.buf[:n:n]
	a.buf = a.buf[n:]
	return s
}

// takeCap returns an empty slice with capacity n, for lists filled by
// append (nil for n == 0).
func (a *arena[T]) takeCap(n int) []T {
	return a.take(n)[:0]
}

// clone returns an arena copy of src (nil when src is empty).
func (a *arena[T]) clone(src []T) []T {
	d := a.take(len(src))
	copy(d, src)
	return d
}
