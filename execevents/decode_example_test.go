package execevents_test

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/monadgo/events/execevents"
)

// A TXN_LOG payload is the 32-byte EthTxnLog followed by topic_count
// 32-byte topics and data_length bytes of data; the decoder splits them
// without copying.
func ExampleDecodeTxnLog() {
	// Ring payloads are 16-byte aligned; a fresh Go allocation of this size
	// is at least 8-byte aligned, enough for EthTxnLog.
	p := make([]byte, 0, 128)
	p = binary.LittleEndian.AppendUint32(p, 7) // index
	p = append(p, make([]byte, 20)...)         // address
	p = append(p, 1, 0, 0, 0)                  // topic_count, padding
	p = binary.LittleEndian.AppendUint32(p, 3) // data_length
	p = append(p, make([]byte, 32)...)         // topic 0
	p = append(p, 0xca, 0xfe, 0x01)            // data
	payload := p

	log, err := execevents.DecodeTxnLog(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(log.Index, len(log.Topics), fmt.Sprintf("%x", log.Data))

	_, err = execevents.DecodeTxnLog(payload[:len(payload)-1])
	fmt.Println(errors.Is(err, execevents.ErrPayloadShort))
	fmt.Println(err)
	// Output:
	// 7 1 cafe01
	// true
	// execevents: TXN_LOG payload of 66 bytes (want 67): data_length declares 3 elements of 1 bytes, only 2 bytes remain
}

// DecodePayload dispatches on the event type of a descriptor.
func ExampleDecodePayload() {
	payload := make([]byte, 8)
	binary.LittleEndian.PutUint64(payload, 15_000_001)

	v, err := execevents.DecodePayload(execevents.EventTypeBlockVerified, payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.(*execevents.BlockVerified).BlockNumber)

	_, err = execevents.DecodePayload(execevents.EventTypeBlockQC, payload)
	fmt.Println(err)
	// Output:
	// 15000001
	// execevents: BLOCK_QC payload of 8 bytes (want 56): shorter than the fixed payload struct
}
