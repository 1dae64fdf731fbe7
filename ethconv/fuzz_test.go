package ethconv_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/execevents"
)

// FuzzConvert mutates the fields of a valid block that conversion branches
// on: it must return a typed error or a block that renders, never panic.
func FuzzConvert(f *testing.F) {
	f.Add(uint8(0), uint8(2), false, false, uint64(15), uint64(20143), uint32(0))
	f.Add(uint8(4), uint8(4), true, true, uint64(33), uint64(1), uint32(1))
	f.Add(uint8(1), uint8(9), false, true, uint64(0), uint64(0), uint32(5))
	f.Fuzz(func(t *testing.T, which, typ uint8, create, parity bool, extraLen, chain uint64, index uint32) {
		eb := synthBlock()
		tx := &eb.Txns[int(which)%len(eb.Txns)]
		h := &tx.Header.TxnHeader
		h.TxnType = execevents.TransactionType(typ)
		h.IsContractCreation = create
		h.YParity = parity
		h.ChainID.SetUint64(chain)
		tx.Index = index
		eb.Start.EthBlockInput.ExtraDataLength = extraLen
		eb.Start.ChainID.SetUint64(chain)

		b, err := ethconv.Convert(eb)
		if err != nil {
			for _, want := range []error{ethconv.ErrTxnType, ethconv.ErrNoRecipient, ethconv.ErrExtraDataLength, ethconv.ErrTxnIndex} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		if _, err := json.Marshal(b.UpdateJSON(blocks.CommitProposed, nil)); err != nil {
			t.Fatal(err)
		}
		_ = b.Header.Hash()
		_ = b.EthBlock()
	})
}
