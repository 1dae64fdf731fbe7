package exectest_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestDecoderSnapshot decodes every event of emn-30b and checks the typed
// view against the descriptor and the flow-tag rules of spec §7.2-7.3.
func TestDecoderSnapshot(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	var dec execevents.Decoder
	var curStart uint64 // seqno of the block in progress
	// Index of the last ACCOUNT_ACCESS of each scope (TXN_ID; transactions
	// interleave).
	lastAccount := map[uint64]uint32{}
	for _, e := range evs {
		d := e.d
		ev, err := dec.View(&d, e.p)
		if err != nil {
			t.Fatalf("seqno %d: %v", d.Seqno, err)
		}
		m := ev.Meta()
		if m.Seqno != d.Seqno || uint16(m.EventType) != d.EventType || ev.Type() != m.EventType ||
			m.RecordEpochNanos != d.RecordEpochNanos {
			t.Fatalf("seqno %d: meta %+v does not match the descriptor", d.Seqno, m)
		}
		if name := fmt.Sprintf("%T", ev); !strings.EqualFold(strings.ReplaceAll(m.EventType.String(), "_", "")+"event", strings.TrimPrefix(name, "*execevents.")) {
			t.Fatalf("seqno %d: %s decoded as %s", d.Seqno, m.EventType, name)
		}
		f := m.Flow
		switch ev := ev.(type) {
		case *execevents.BlockStartEvent:
			if f.BlockSeqno != d.Seqno {
				t.Fatalf("BLOCK_START seqno %d carries BLOCK_SEQNO %d, want its own", d.Seqno, f.BlockSeqno)
			}
			curStart = d.Seqno
		case *execevents.BlockQCEvent, *execevents.BlockFinalizedEvent, *execevents.BlockVerifiedEvent:
			if f != (execevents.Flow{}) {
				t.Fatalf("consensus event seqno %d has flow tags %+v", d.Seqno, f)
			}
		case *execevents.AccountAccessEvent:
			lastAccount[f.TxnID] = ev.Index
		case *execevents.StorageAccessEvent:
			if k, ok := lastAccount[f.TxnID]; !ok || f.AccountIndex != uint64(k) {
				t.Fatalf("STORAGE_ACCESS seqno %d: ACCOUNT_INDEX %d, the scope's last account %d", d.Seqno, f.AccountIndex, k)
			}
		}
		switch m.EventType {
		case execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
		default:
			if f.BlockSeqno != curStart {
				t.Fatalf("seqno %d (%s): BLOCK_SEQNO %d, block in progress %d", d.Seqno, m.EventType, f.BlockSeqno, curStart)
			}
		}
		txn, inTxn := f.TxnIndex()
		switch {
		case strings.HasPrefix(m.EventType.String(), "TXN_"):
			if !inTxn || txn >= 1000 {
				t.Fatalf("seqno %d (%s): TXN_ID %d", d.Seqno, m.EventType, f.TxnID)
			}
		case strings.HasPrefix(m.EventType.String(), "BLOCK_"):
			if inTxn {
				t.Fatalf("seqno %d (%s): block-scope event with TXN_ID %d", d.Seqno, m.EventType, f.TxnID)
			}
		}
	}
}

// TestClone: a clone owns its memory; the view does not.
func TestClone(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	var dec execevents.Decoder
	seen := map[execevents.EventType]bool{}
	for _, e := range evs {
		ty := execevents.EventType(e.d.EventType)
		if seen[ty] {
			continue
		}
		seen[ty] = true
		p := append([]byte(nil), e.p...)
		view, err := dec.View(&e.d, p)
		if err != nil {
			t.Fatal(err)
		}
		// ref decodes an untouched copy of the payload.
		var dec2 execevents.Decoder
		ref, err := dec2.View(&e.d, append([]byte(nil), e.p...))
		if err != nil {
			t.Fatal(err)
		}
		c := view.Clone()
		for i := range p {
			p[i] ^= 0xff // the writer overwrites the payload
		}
		if !reflect.DeepEqual(c, ref) {
			t.Errorf("%s: clone changed when the payload was overwritten", ty)
		}
		if len(p) > 0 && reflect.DeepEqual(view, ref) {
			t.Errorf("%s: the view did not follow the payload (is it a copy?)", ty)
		}
	}
	if len(seen) != len(snap30Counts) {
		t.Errorf("cloned %d event types, want %d", len(seen), len(snap30Counts))
	}
}

func TestDecoderOddEvents(t *testing.T) {
	var dec execevents.Decoder
	d := eventring.Descriptor{Seqno: 7, EventType: 200, ContentExt: [4]uint64{3, 2, 1, 0}}
	ev, err := dec.View(&d, []byte{1, 2, 3})
	u, ok := ev.(*execevents.UnknownEvent)
	if err != nil || !ok || !bytes.Equal(u.Payload, []byte{1, 2, 3}) || u.Flow.BlockSeqno != 3 {
		t.Fatalf("unknown type: %T %v %v", ev, ev, err)
	}
	if i, ok := u.Flow.TxnIndex(); !ok || i != 1 {
		t.Errorf("TXN_ID 2 gives index %d, %v; want 1", i, ok)
	}
	d.EventType = uint16(execevents.EventTypeTxnEnd)
	if _, err := dec.View(&d, []byte{0}); !errors.Is(err, execevents.ErrPayloadLong) {
		t.Errorf("TXN_END with a payload: %v, want ErrPayloadLong", err)
	}
	d.EventType = uint16(execevents.EventTypeBlockStart)
	if _, err := dec.View(&d, make([]byte, 100)); !errors.Is(err, execevents.ErrPayloadShort) {
		t.Errorf("short BLOCK_START: %v, want ErrPayloadShort", err)
	}
	d.EventType = uint16(execevents.EventTypeTxnLog)
	p := make([]byte, 32)
	p[24] = 200 // topic_count far beyond the payload
	if _, err := dec.View(&d, p); !errors.Is(err, execevents.ErrBadPayload) {
		t.Errorf("TXN_LOG with 200 topics in 32 bytes: %v, want ErrBadPayload", err)
	}
}

func TestDecoderAllocs(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	var dec execevents.Decoder
	allocs := testing.AllocsPerRun(5, func() {
		for i := range evs {
			if _, err := dec.View(&evs[i].d, evs[i].p); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per pass over %d events, want 0", allocs, len(evs))
	}
}
