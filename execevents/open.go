package execevents

import (
	"github.com/monadgo/events/eventring"
)

// Open opens an execution event ring (a live ring file or a zstd snapshot)
// and checks that it was written with the EXEC content type and exactly the
// schema these bindings were generated from (SchemaHash, spec §10.2). On a
// mismatch the error is an *eventring.SchemaError (errors.Is
// eventring.ErrSchemaMismatch) that names both hashes and says to
// regenerate the bindings.
func Open(path string) (*eventring.Ring, error) {
	r, err := eventring.Open(path)
	if err != nil {
		return nil, err
	}
	if err := CheckRing(r); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// CheckRing checks an already opened ring as Open does.
func CheckRing(r *eventring.Ring) error {
	return r.CheckSchema(RingContentType, SchemaHash)
}
