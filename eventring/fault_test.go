package eventring

import (
	"context"
	"errors"
	"os"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

// TestTruncateUnderReaderAndWriter cuts a ring file to 0 bytes (as
// truncate -s 0 does) while a Recorder writes it at full speed and a
// Reader follows it with Next: both must stop with a *RingChangedError
// naming the truncation instead of faulting, and afterwards the ring reads
// as closed (payload views read zeros, no fault).
func TestTruncateUnderReaderAndWriter(t *testing.T) {
	payload := make([]byte, 100)
	t.Run("Record", func(t *testing.T) {
		truncateUnderReaderAndWriter(t, func(w *Recorder) (uint64, error) {
			_, err := w.Record(1, [4]uint64{}, payload)
			return 1, err
		})
	})
	t.Run("RecordBatch", func(t *testing.T) {
		events := make([]BatchEvent, 1000)
		for i := range events {
			events[i].Payload = payload
		}
		truncateUnderReaderAndWriter(t, func(w *Recorder) (uint64, error) {
			_, err := w.RecordBatch(events)
			return uint64(len(events)), err
		})
	})
}

// truncateUnderReaderAndWriter runs TestTruncateUnderReaderAndWriter with a
// writer that records 100-byte events with record, which returns how many
// it recorded.
func truncateUnderReaderAndWriter(t *testing.T, record func(*Recorder) (uint64, error)) {
	path := t.TempDir() + "/ring"
	w, err := Create(path, minSizes, ContentTypeTest, testHash)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ring, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()

	var written, read atomic.Uint64
	writerErr := make(chan error, 1)
	go func() {
		for {
			n, err := record(w)
			if err != nil {
				writerErr <- err
				return
			}
			written.Add(n)
		}
	}()
	readerErr := make(chan error, 1)
	var last Descriptor
	go func() {
		ctx := context.Background()
		var d Descriptor
		for {
			err := rd.Next(ctx, &d)
			var gap *GapError
			switch {
			case err == nil:
				read.Add(1)
				last = d
			case errors.As(err, &gap):
				rd.Reset() // lapped by the full-speed writer: go on
			default:
				readerErr <- err
				return
			}
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); written.Load() < 200000 || read.Load() < 1000; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("written %d, read %d", written.Load(), read.Load())
		}
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan error{"writer": writerErr, "reader": readerErr} {
		select {
		case err := <-ch:
			var rc *RingChangedError
			if !errors.As(err, &rc) || rc.Reason != RingTruncated || rc.Path != path || !errors.Is(err, ErrRingChanged) {
				t.Fatalf("%s: %v (%T), want a *RingChangedError for a truncation of %s", name, err, err, path)
			}
			t.Logf("%s: %v", name, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not notice the truncation", name)
		}
	}
	// The same error again, and nothing faults any more.
	var d Descriptor
	if err := rd.Next(context.Background(), &d); !errors.Is(err, ErrRingChanged) {
		t.Errorf("Next after the truncation: %v", err)
	}
	if _, err := record(w); !errors.Is(err, ErrRingChanged) {
		t.Errorf("recording after the truncation: %v", err)
	}
	if p := ring.Payload(&last); len(p) != 100 || p[0] != 0 || ring.PayloadValid(&last) {
		t.Errorf("payload view after the truncation: %d bytes, valid %v", len(p), ring.PayloadValid(&last))
	}
}

// TestFaultError: an access outside the guarded entry points (TryNext)
// faults on a truncated file; with SetPanicOnFault the recovered value
// becomes the *RingChangedError, and the ring is closed.
func TestFaultError(t *testing.T) {
	path := t.TempDir() + "/ring"
	w, err := Create(path, minSizes, ContentTypeTest, testHash)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Record(1, [4]uint64{}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	ring, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	err = func() (err error) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if v := recover(); v != nil {
				if err = FaultError(v); err == nil {
					panic(v)
				}
			}
		}()
		var d Descriptor
		rd.TryNext(&d)
		return nil
	}()
	var rc *RingChangedError
	if !errors.As(err, &rc) || rc.Reason != RingTruncated {
		t.Fatalf("TryNext on a truncated ring: %v", err)
	}
	t.Log(err)
	var d Descriptor
	if res := rd.TryNext(&d); res != NotReady {
		t.Errorf("TryNext after the fault: %v, want NotReady (closed ring)", res)
	}
	if err := rd.Next(context.Background(), &d); !errors.Is(err, ErrRingChanged) {
		t.Errorf("Next after the fault: %v", err)
	}
	if FaultError("not a fault") != nil || FaultError(errors.New("x")) != nil {
		t.Error("FaultError claims values that are no faults")
	}
}

// TestRingReplacedOrRewritten: an idle reader whose writer still lives
// notices, at its writer-check interval, that the path now names another
// file, or that the header was rewritten in place.
func TestRingReplacedOrRewritten(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(t *testing.T, path string)
		want   RingChange
	}{
		{"replaced", func(t *testing.T, path string) {
			tmp := path + ".new"
			if err := os.WriteFile(tmp, []byte("another file"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, RingReplaced},
		{"header rewritten", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0xee}, 8); err != nil { // the schema hash's first byte
				t.Fatal(err)
			}
		}, RingHeaderChanged},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := t.TempDir() + "/ring"
			w, err := Create(path, minSizes, ContentTypeTest, testHash)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for range 3 {
				if _, err := w.Record(1, [4]uint64{}, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			ring, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ring.Close()
			rd := ring.NewReader()
			rd.SetSeqno(1)
			rd.SetWaitStrategy(WaitStrategy{MinSleep: time.Millisecond, MaxSleep: time.Millisecond, WriterCheck: 10 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var d Descriptor
			for i := range 3 {
				if err := rd.Next(ctx, &d); err != nil || d.Seqno != uint64(i+1) {
					t.Fatalf("event %d: %v", i+1, err)
				}
			}
			c.change(t, path)
			err = rd.Next(ctx, &d)
			var rc *RingChangedError
			if !errors.As(err, &rc) || rc.Reason != c.want {
				t.Fatalf("Next: %v, want a %v", err, c.want)
			}
			t.Log(err)
		})
	}
}
