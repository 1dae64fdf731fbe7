package execevents

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"
)

// This file holds the payload checks every generated decoder makes and the
// error they report.

// Payload decoding errors; a *PayloadError matches ErrBadPayload and exactly
// one of the others with errors.Is.
var (
	// ErrBadPayload matches every payload decoding error.
	ErrBadPayload = errors.New("execevents: malformed payload")
	// ErrPayloadShort: the payload is shorter than its fixed struct, or than
	// the trailing arrays its counts declare.
	ErrPayloadShort = errors.New("execevents: payload too short")
	// ErrPayloadLong: the payload has bytes beyond what its type and counts
	// account for.
	ErrPayloadLong = errors.New("execevents: payload too long")
	// ErrPayloadMisaligned: the payload's address is not aligned for its Go
	// struct, so it cannot be viewed in place (copy it to an aligned buffer,
	// or use Decoder.Read or ReadEvent, which do; ring payloads are always
	// aligned).
	ErrPayloadMisaligned = errors.New("execevents: payload misaligned")
)

// PayloadError reports a payload that does not fit its event type.
type PayloadError struct {
	EventType EventType // type of the event whose payload was decoded
	Want      uint64    // size the payload should have (as far as it could be computed)
	Got       uint64    // actual payload size
	Reason    string    // what is wrong, in words
	Err       error     // ErrPayloadShort, ErrPayloadLong or ErrPayloadMisaligned
}

// Error describes the problem with the event type and sizes.
func (e *PayloadError) Error() string {
	return fmt.Sprintf("execevents: %v payload of %d bytes (want %d): %s", e.EventType, e.Got, e.Want, e.Reason)
}

// Unwrap returns the specific sentinel error.
func (e *PayloadError) Unwrap() error { return e.Err }

// Is reports whether target is ErrBadPayload.
func (e *PayloadError) Is(target error) bool { return target == ErrBadPayload }

func payloadError(t EventType, want uint64, got int, err error, reason string) *PayloadError {
	return &PayloadError{EventType: t, Want: want, Got: uint64(got), Reason: reason, Err: err}
}

// viewStruct returns p as a *T after checking that p holds at least size
// bytes (exactly size when exact) and is aligned for T: Go, and checkptr
// under -race, require the latter for a pointer conversion.
func viewStruct[T any](t EventType, p []byte, size int, exact bool) (*T, error) {
	switch {
	case len(p) < size:
		return nil, payloadError(t, uint64(size), len(p), ErrPayloadShort, "shorter than the fixed payload struct")
	case exact && len(p) > size:
		return nil, payloadError(t, uint64(size), len(p), ErrPayloadLong, "longer than the fixed payload struct")
	}
	ptr := unsafe.Pointer(unsafe.SliceData(p))
	if a := unsafe.Alignof(*new(T)); uintptr(ptr)%a != 0 {
		return nil, payloadError(t, uint64(size), len(p), ErrPayloadMisaligned, fmt.Sprintf("address %#x is not %d-byte aligned", ptr, a))
	}
	return (*T)(ptr), nil
}

// trailing cuts the next count*elem bytes off rest, failing when they are
// not there; the arithmetic cannot overflow.
func trailing(t EventType, p, rest []byte, count uint64, elem uint64, name string) ([]byte, []byte, error) {
	if count > uint64(len(rest))/elem {
		want := uint64(len(p) - len(rest))
		if count <= math.MaxUint64/elem-want {
			want += count * elem
		} else {
			want = math.MaxUint64
		}
		return nil, nil, payloadError(t, want, len(p), ErrPayloadShort, fmt.Sprintf("%s declares %d elements of %d bytes, only %d bytes remain", name, count, elem, len(rest)))
	}
	n := count * elem
	return rest[:n:n], rest[n:], nil
}

// longError reports bytes left over after the trailing arrays.
func longError(t EventType, p, rest []byte) error {
	return payloadError(t, uint64(len(p)-len(rest)), len(p), ErrPayloadLong, fmt.Sprintf("%d bytes after the trailing arrays", len(rest)))
}

// notEmptyError reports a payload for an event type that has none.
func notEmptyError(t EventType, p []byte) error {
	return payloadError(t, 0, len(p), ErrPayloadLong, "the event has no payload")
}

// sizeRuleError reports a payload whose size is none of those its event
// type allows (RECORD_ERROR: 16 or 8192).
func sizeRuleError(t EventType, p []byte, sizes ...int) error {
	err := ErrPayloadLong
	if len(p) < slices.Min(sizes) {
		err = ErrPayloadShort
	}
	var s []string
	for _, n := range sizes {
		s = append(s, fmt.Sprint(n))
	}
	return payloadError(t, uint64(sizes[0]), len(p), err, "valid sizes are "+strings.Join(s, " or "))
}
