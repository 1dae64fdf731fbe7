package exectest_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestViewTxnLogDocumented: a TXN_LOG payload is the 32-byte EthTxnLog
// followed by topic_count 32-byte topics and data_length bytes of data; the
// decoder splits them without copying, and a payload one byte short says
// which count it cannot satisfy.
func TestViewTxnLogDocumented(t *testing.T) {
	p := make([]byte, 0, 128)                  // a fresh allocation is 8-byte aligned, enough for EthTxnLog
	p = binary.LittleEndian.AppendUint32(p, 7) // index
	p = append(p, make([]byte, 20)...)         // address
	p = append(p, 1, 0, 0, 0)                  // topic_count, padding
	p = binary.LittleEndian.AppendUint32(p, 3) // data_length
	p = append(p, make([]byte, 32)...)         // topic 0
	p = append(p, 0xca, 0xfe, 0x01)            // data

	var dec execevents.Decoder
	d := eventring.Descriptor{EventType: uint16(execevents.EventTypeTxnLog), PayloadSize: uint32(len(p))}
	ev, err := dec.View(&d, p)
	if err != nil {
		t.Fatal(err)
	}
	log := ev.(*execevents.TxnLogEvent)
	if got := fmt.Sprintf("%d %d %x", log.Index, len(log.Topics), log.Data); got != "7 1 cafe01" {
		t.Errorf("decoded %s", got)
	}
	if &log.Data[0] != &p[len(p)-3] {
		t.Errorf("Data is a copy, not a view of the payload")
	}

	d.PayloadSize--
	_, err = dec.View(&d, p[:len(p)-1])
	want := "execevents: TXN_LOG payload of 66 bytes (want 67): data_length declares 3 elements of 1 bytes, only 2 bytes remain"
	if !errors.Is(err, execevents.ErrPayloadShort) || err.Error() != want {
		t.Errorf("short TXN_LOG: %v", err)
	}
}

// TestViewByCode: the Decoder dispatches on the descriptor's event type.
func TestViewByCode(t *testing.T) {
	payload := make([]byte, 8)
	binary.LittleEndian.PutUint64(payload, 15_000_001)

	var dec execevents.Decoder
	d := eventring.Descriptor{EventType: uint16(execevents.EventTypeBlockVerified), PayloadSize: 8}
	ev, err := dec.View(&d, payload)
	if err != nil || ev.(*execevents.BlockVerifiedEvent).BlockNumber != 15_000_001 {
		t.Fatalf("BLOCK_VERIFIED: %v, %v", ev, err)
	}
	d.EventType = uint16(execevents.EventTypeBlockQC)
	_, err = dec.View(&d, payload)
	if want := "execevents: BLOCK_QC payload of 8 bytes (want 56): shorter than the fixed payload struct"; err == nil || err.Error() != want {
		t.Errorf("8-byte BLOCK_QC: %v", err)
	}
}
