package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

func runSnapshot(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "snapshot")
	force := fs.Bool("force", false, "overwrite OUT.zst if it exists")
	pos, err := parseArgs(fs, args, 2, 2)
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
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename

	cw := &countingWriter{w: tmp}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- o.WriteSnapshot(cw) }()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err = <-done:
		case <-tick.C:
			e.log.Info("snapshot: writing", "compressed", size(cw.n.Load()), "elapsed", time.Since(start).Round(time.Second))
			continue
		case <-ctx.Done():
			// Closing the file makes the writer's next write fail; wait for it
			// so nothing touches the ring after we return.
			tmp.Close()
			<-done
			return ctx.Err()
		}
		break
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
	h := o.Header()
	e.log.Info("snapshot: done", "out", out, "events", h.LastSeqno, "compressed", size(cw.n.Load()),
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
