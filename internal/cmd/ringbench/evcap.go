package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"

	"github.com/monadgo/events/evcap"
)

// isCapture reports whether the file starts with the evcap magic.
func isCapture(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [len(evcap.Magic)]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && bytes.Equal(magic[:], []byte(evcap.Magic))
}

// passCapture reads every event of a capture file with an evcap.Reader
// (decompressing its bundles; a plain bundle is read from the mapped file,
// each payload copied out of it, as the ring's payload mode copies) and
// computes the checksum of the mode: the descriptor sum, plus with
// payloads the first 8 payload bytes. The payloads are decoded in both
// modes (a capture stores them inline); the batch modes read the same way.
func passCapture(f *evcap.File, withPayload bool) (n, sum uint64, err error) {
	for ev, err := range f.Events(context.Background()) {
		if err != nil {
			return n, sum, err
		}
		sum += descSum(&ev.Descriptor)
		if withPayload && len(ev.Payload) >= 8 {
			sum += binary.LittleEndian.Uint64(ev.Payload)
		}
		n++
	}
	return n, sum, nil
}
