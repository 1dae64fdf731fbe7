package blocks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// TestDemoCommitSequence compares the tracker's updates on the demo
// snapshot with the sequence testdata/README.md documents for its scripted
// consensus (competing proposals, a skipped Voted, an ignored QC).
func TestDemoCommitSequence(t *testing.T) {
	ring, err := execevents.Open(testdata.Project(t, "demo.snapshot.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	// number/round offset, as the README writes them.
	want := []string{
		"1000000/0 Proposed", "1000000/0 Voted", "1000001/1 Proposed", "1000001/1 Voted", "1000000/0 Finalized",
		"1000002/2 Proposed", "1000002/3 Proposed", "1000002/3 Voted",
		"1000001/1 Finalized", "1000003/4 Proposed", "1000003/4 Voted",
		"1000002/3 Finalized abandoning 1000002/2", "1000000/0 Verified", "1000001/1 Verified",
		"1000004/5 Proposed", "1000004/5 Voted", "1000003/4 Finalized", "1000002/3 Verified",
	}
	name := func(b *blocks.ExecutedBlock) string {
		return fmt.Sprintf("%d/%d", b.Number(), b.Start.Round-4_200_010)
	}
	var got []string
	txns := map[string]int{}
	tr := blocks.NewTracker(blocks.BuilderOptions{CallFrames: true, Accesses: true})
	for u, err := range tr.Updates(context.Background(), ring.NewReader()) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Notice != nil {
			t.Fatalf("notice: %v", u.Notice)
		}
		s := name(u.Block) + " " + u.State.String()
		if len(u.Abandoned) > 0 {
			var ab []string
			for _, a := range u.Abandoned {
				ab = append(ab, name(a))
			}
			s += " abandoning " + strings.Join(ab, ",")
		}
		got = append(got, s)
		txns[name(u.Block)] = len(u.Block.Txns)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("updates:\n%s\nwant (testdata/README.md):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Transaction counts from the README's table.
	for k, n := range map[string]int{"1000000/0": 4, "1000001/1": 4, "1000002/2": 2, "1000002/3": 5, "1000003/4": 3, "1000004/5": 0} {
		if txns[k] != n {
			t.Errorf("block %s: %d transactions, README says %d", k, txns[k], n)
		}
	}
	// At the end 1000003/4 is Finalized and 1000004/5 Voted.
	if tr.Len() != 2 {
		t.Errorf("%d blocks still tracked, want 2", tr.Len())
	}
}

func tag(n uint64, id byte) execevents.BlockTag {
	return execevents.BlockTag{ID: execevents.Bytes32{31: id}, BlockNumber: n}
}

func block(n uint64, id byte) *blocks.ExecutedBlock {
	b := &blocks.ExecutedBlock{}
	b.Start.BlockTag = tag(n, id)
	return b
}

func qc(n uint64, id byte) execevents.Event {
	return &execevents.BlockQCEvent{
		EventMeta: execevents.EventMeta{EventType: execevents.EventTypeBlockQC},
		BlockQC:   &execevents.BlockQC{BlockTag: tag(n, id)},
	}
}

func finalized(n uint64, id byte) execevents.Event {
	t := tag(n, id)
	return &execevents.BlockFinalizedEvent{
		EventMeta: execevents.EventMeta{EventType: execevents.EventTypeBlockFinalized},
		BlockTag:  &t,
	}
}

func verified(n uint64) execevents.Event {
	return &execevents.BlockVerifiedEvent{
		EventMeta:     execevents.EventMeta{EventType: execevents.EventTypeBlockVerified},
		BlockVerified: &execevents.BlockVerified{BlockNumber: n},
	}
}

// TestTrackerRules walks the rules of spec §9.2 one by one, including the
// cases the Rust SDK treats as fatal.
func TestTrackerRules(t *testing.T) {
	tr := blocks.NewTracker(blocks.BuilderOptions{})
	a, b, c := block(10, 0xa), block(10, 0xb), block(11, 0xc)
	type step struct {
		name    string
		do      func() ([]blocks.Update, error)
		want    string // "" for no update
		wantErr bool
	}
	describe := func(ups []blocks.Update) string {
		var s []string
		for _, u := range ups {
			x := fmt.Sprintf("%s %d/%x", u.State, u.Block.Number(), u.Block.ID()[31])
			for _, ab := range u.Abandoned {
				x += fmt.Sprintf(" -%d/%x", ab.Number(), ab.ID()[31])
			}
			s = append(s, x)
		}
		return strings.Join(s, "; ")
	}
	steps := []step{
		{"propose a", func() ([]blocks.Update, error) { return tr.AddBlock(a) }, "Proposed 10/a", false},
		{"propose b", func() ([]blocks.Update, error) { return tr.AddBlock(b) }, "Proposed 10/b", false},
		{"propose c", func() ([]blocks.Update, error) { return tr.AddBlock(c) }, "Proposed 11/c", false},
		{"qc a", func() ([]blocks.Update, error) { return tr.AddEvent(qc(10, 0xa)) }, "Voted 10/a", false},
		{"qc a again: ignored", func() ([]blocks.Update, error) { return tr.AddEvent(qc(10, 0xa)) }, "", false},
		{"qc unknown: ignored", func() ([]blocks.Update, error) { return tr.AddEvent(qc(10, 0xf)) }, "", false},
		{"finalize unknown: ignored", func() ([]blocks.Update, error) { return tr.AddEvent(finalized(10, 0xf)) }, "", false},
		{"finalize b skipping Voted, abandons a", func() ([]blocks.Update, error) { return tr.AddEvent(finalized(10, 0xb)) }, "Finalized 10/b -10/a", false},
		{"qc a after it was abandoned: ignored", func() ([]blocks.Update, error) { return tr.AddEvent(qc(10, 0xa)) }, "", false},
		{"qc b after finalization: ignored", func() ([]blocks.Update, error) { return tr.AddEvent(qc(10, 0xb)) }, "", false},
		{"finalize b twice: inconsistent", func() ([]blocks.Update, error) { return tr.AddEvent(finalized(10, 0xb)) }, "", true},
		{"verify unknown number: ignored", func() ([]blocks.Update, error) { return tr.AddEvent(verified(9)) }, "", false},
		{"verify 10", func() ([]blocks.Update, error) { return tr.AddEvent(verified(10)) }, "Verified 10/b", false},
		{"verify 10 again: ignored", func() ([]blocks.Update, error) { return tr.AddEvent(verified(10)) }, "", false},
		{"same proposal executed twice: inconsistent", func() ([]blocks.Update, error) { return tr.AddBlock(block(11, 0xc)) }, "", true},
		{"finalize c with the wrong number: inconsistent", func() ([]blocks.Update, error) { return tr.AddEvent(finalized(12, 0xc)) }, "", true},
		{"verify c before finalization: reported, with an error", func() ([]blocks.Update, error) { return tr.AddEvent(verified(11)) }, "Verified 11/c", true},
		{"propose d", func() ([]blocks.Update, error) { return tr.AddBlock(block(12, 0xd)) }, "Proposed 12/d", false},
		{"propose e", func() ([]blocks.Update, error) { return tr.AddBlock(block(13, 0xe)) }, "Proposed 13/e", false},
		{"finalize e", func() ([]blocks.Update, error) { return tr.AddEvent(finalized(13, 0xe)) }, "Finalized 13/e", false},
		{"verify 13 with 12 still tracked: gapped", func() ([]blocks.Update, error) { return tr.AddEvent(verified(13)) }, "Verified 13/e", true},
		{"propose f1", func() ([]blocks.Update, error) { return tr.AddBlock(block(14, 0x1)) }, "Proposed 14/1", false},
		{"propose f2", func() ([]blocks.Update, error) { return tr.AddBlock(block(14, 0x2)) }, "Proposed 14/2", false},
		{"verify 14 with two proposals: inconsistent", func() ([]blocks.Update, error) { return tr.AddEvent(verified(14)) }, "", true},
	}
	for _, s := range steps {
		ups, err := s.do()
		if got := describe(ups); got != s.want {
			t.Errorf("%s: updates %q, want %q", s.name, got, s.want)
		}
		if (err != nil) != s.wantErr {
			t.Errorf("%s: error %v, want error %v", s.name, err, s.wantErr)
		}
		if err != nil && !errors.Is(err, blocks.ErrInconsistent) {
			t.Errorf("%s: error %v is not ErrInconsistent", s.name, err)
		}
	}
	if tr.Len() != 0 {
		t.Errorf("%d blocks still tracked, want 0", tr.Len())
	}
}

func TestCommitStateString(t *testing.T) {
	for s, want := range map[blocks.CommitState]string{
		blocks.CommitProposed: "Proposed", blocks.CommitVoted: "Voted",
		blocks.CommitFinalized: "Finalized", blocks.CommitVerified: "Verified", 9: "CommitState(9)",
	} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
}

// TestTrackerMalformedConsensus: a consensus event with a malformed payload
// is an inconsistency that carries the decoder's error; nothing is updated.
func TestTrackerMalformedConsensus(t *testing.T) {
	for _, ty := range []execevents.EventType{execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified} {
		src := newMemSource([]memEvent{{d: eventring.Descriptor{Seqno: 7, EventType: uint16(ty)}, p: []byte{1, 2, 3}}})
		ups, err := blocks.NewTracker(blocks.BuilderOptions{}).Process(src, &src.evs[0].d)
		var ce *blocks.CommitError
		var pe *execevents.PayloadError
		if len(ups) != 0 || !errors.As(err, &ce) || !errors.Is(err, blocks.ErrInconsistent) || !errors.As(err, &pe) || ce.Seqno != 7 {
			t.Errorf("%v: updates %v, error %v; want a *CommitError for seqno 7 wrapping a *PayloadError", ty, ups, err)
		}
	}
}
