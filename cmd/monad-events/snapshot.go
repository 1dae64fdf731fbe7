package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

func runSnapshot(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet(e, "snapshot")
	force := flags.Bool("force", false, "overwrite OUT.zst if it exists")
	pos, err := parseArgs(e.stdout, flags, args, 2, 2)
	if err != nil {
		return err
	}
	o, err := openRing(e, pos[0])
	if err != nil {
		return err
	}
	defer o.Close()

	out := pos[1]
	if _, err := os.Stat(out); err == nil && !*force {
		return fmt.Errorf("%s already exists (use --force to overwrite)", out)
	}
	// Write next to the destination and rename at the end, so a failed or
	// interrupted capture never leaves a truncated snapshot under OUT.
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name would only confuse
		}
		return fmt.Errorf("snapshot: cannot create %s: %w", out, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename

	cw := &countingWriter{w: tmp}
	start := time.Now()
	// Progress is reported aside; the capture itself runs here, on the
	// goroutine whose faults main turns into an error line, and stops on
	// Ctrl-C (ctx). A live ring is captured as a reader reads it, so the
	// snapshot is consistent even while a writer fills the ring (see
	// eventring's WriteSnapshotContext).
	stop := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				e.log.Info("snapshot: writing", "compressed", size(cw.n.Load()), "elapsed", time.Since(start).Round(time.Second))
			case <-ctx.Done(): // the capture stops soon
				return
			case <-stop:
				return
			}
		}
	}()
	last, err := o.WriteSnapshotContext(ctx, cw)
	close(stop)
	<-watcherDone
	if ctx.Err() != nil {
		tmp.Close()
		return ctx.Err()
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("snapshot of %s: %w", o.path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	e.log.Info("snapshot: done", "out", out, "last seqno", last, "compressed", size(cw.n.Load()),
		"elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// countingWriter counts bytes for progress reports.
type countingWriter struct {
	w io.Writer
	n atomic.Uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(uint64(n))
	return n, err
}
