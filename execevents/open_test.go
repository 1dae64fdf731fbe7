package execevents_test

import (
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestOpenSchemaCheck: Open refuses rings of another schema or content type
// and names both hashes.
func TestOpenSchemaCheck(t *testing.T) {
	sizes := eventring.Sizes{DescriptorCapacity: eventring.MinDescriptorCapacity, PayloadBufSize: eventring.MinPayloadBufSize}
	other := execevents.SchemaHash
	other[0] ^= 0xff
	for _, c := range []struct {
		name string
		ct   eventring.ContentType
		hash [32]byte
		ok   bool
	}{
		{"exec", eventring.ContentTypeExec, execevents.SchemaHash, true},
		{"other hash", eventring.ContentTypeExec, other, false},
		{"test content", eventring.ContentTypeTest, execevents.SchemaHash, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ring")
			rec, err := eventring.Create(path, sizes, c.ct, c.hash)
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Close()
			ring, err := execevents.Open(path)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				ring.Close()
				return
			}
			if err == nil {
				ring.Close()
				t.Fatal("Open accepted a ring of another schema")
			}
			if !errors.Is(err, eventring.ErrSchemaMismatch) {
				t.Errorf("error %v does not match eventring.ErrSchemaMismatch", err)
			}
			if c.ct == eventring.ContentTypeExec {
				msg := err.Error()
				for _, h := range [][32]byte{c.hash, execevents.SchemaHash} {
					if !strings.Contains(msg, hex.EncodeToString(h[:])) {
						t.Errorf("error %q does not name hash %x", msg, h)
					}
				}
				if !strings.Contains(msg, "regenerate") {
					t.Errorf("error %q does not say to regenerate the bindings", msg)
				}
			}
		})
	}
	if _, err := execevents.Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}
