package eventring

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Cross-process tests re-execute the test binary as the writer: TestMain
// turns into a writer when EVENTRING_TEST_WRITER names a mode.
func TestMain(m *testing.M) {
	if mode := os.Getenv("EVENTRING_TEST_WRITER"); mode != "" {
		if err := writerProcess(mode, os.Getenv("EVENTRING_TEST_PATH")); err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// writerProcess is the child side of the cross-process tests.
func writerProcess(mode, path string) error {
	w, err := Create(path, minSizes, ContentTypeTest, testHash)
	if err != nil {
		return err
	}
	defer w.Close()
	switch mode {
	case "stream":
		// Enough payload bytes to wrap the buffer three times, enough
		// events to wrap the descriptor array several times, and sizes
		// that straddle the buffer's end.
		n, _ := strconv.Atoi(os.Getenv("EVENTRING_TEST_N"))
		_, _ = io.Copy(io.Discard, os.Stdin) // start once the reader is ready
		for i := range n {
			size := uint64(16 + (i*7919)%5000)
			if i%1000 == 999 {
				size = 1<<20 + 48
			}
			res, err := w.Reserve(7, [4]uint64{size}, size)
			if err != nil {
				return err
			}
			fillSelfCheck(res.Payload, res.Seqno)
			res.Commit()
		}
		return nil
	case "killmid":
		for range 10 {
			res, _ := w.Reserve(7, [4]uint64{64}, 64)
			fillSelfCheck(res.Payload, res.Seqno)
			res.Commit()
		}
		res, _ := w.Reserve(7, [4]uint64{64}, 64) // seqno 11, never committed
		fillSelfCheck(res.Payload, res.Seqno)
		fmt.Println("reserved", res.Seqno)
		time.Sleep(time.Minute) // the parent kills us here
		return errors.New("not killed")
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func startWriter(t *testing.T, mode string, env ...string) (*exec.Cmd, string, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ring")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if emu := os.Getenv("EVENTRING_TEST_EMULATOR"); emu != "" {
		// Under qemu-user without binfmt_misc the kernel cannot run the
		// test binary itself: run the writer through the emulator too.
		cmd = exec.Command(emu, os.Args[0], "-test.run=^$")
	}
	cmd.Env = append(os.Environ(), append(env, "EVENTRING_TEST_WRITER="+mode, "EVENTRING_TEST_PATH="+path)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, path, bufio.NewReader(out), in
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition never met")
		time.Sleep(100 * time.Microsecond)
	}
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		require.True(t, time.Now().Before(deadline), "writer never created %s", path)
		time.Sleep(time.Millisecond)
	}
}

// TestCrossProcessStream follows a writer process until it exits. Payloads
// wrap the buffer, the window slides, descriptors wrap, the reader is lapped
// now and then; everything returned as valid passes its self-check, and the
// writer's exit is detected.
func TestCrossProcessStream(t *testing.T) {
	const n = 150_000
	_, path, _, start := startWriter(t, "stream", "EVENTRING_TEST_N="+strconv.Itoa(n))
	waitForFile(t, path)
	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetWaitStrategy(WaitStrategy{Spin: 1000, Yield: 10, MinSleep: time.Microsecond, MaxSleep: 100 * time.Microsecond, WriterCheck: 50 * time.Millisecond})
	require.Equal(t, uint64(0), rd.LastSeqno(), "the writer waits for us")
	require.NoError(t, start.Close())
	var d Descriptor
	buf := make([]byte, 0, 2<<20)
	var ready, gaps, expired, lost uint64
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		err := rd.Next(ctx, &d)
		var ge *GapError
		switch {
		case err == nil:
		case errors.As(err, &ge):
			gaps++
			lost += ge.Lost()
			rd.Reset()
			continue
		case errors.Is(err, ErrWriterGone):
			t.Logf("ready=%d gaps=%d lost=%d expired=%d last=%d", ready, gaps, lost, expired, rd.LastSeqno())
			h := ring.Header()
			require.Equal(t, uint64(n), h.LastSeqno)
			require.Equal(t, uint64(n), rd.LastSeqno(), "read up to the writer's last event")
			require.Positive(t, ready)
			require.Positive(t, gaps)
			require.Positive(t, expired)
			require.Greater(t, h.NextPayloadByte, uint64(2*MinPayloadBufSize), "payload buffer wrapped")
			require.Positive(t, h.BufferWindowStart, "window slid")
			return
		default:
			require.NoError(t, err)
		}
		ready++
		require.Equal(t, rd.LastSeqno(), d.Seqno)
		require.Equal(t, uint64(d.PayloadSize), d.ContentExt[0], "torn descriptor at seqno %d", d.Seqno)
		switch ready {
		case 2000:
			// Fall behind until this payload is reclaimed: the copy must
			// say so.
			waitUntil(t, func() bool { return ring.Header().BufferWindowStart > d.PayloadBufOffset })
			_, err := ring.CopyPayload(&d, buf)
			require.ErrorIs(t, err, ErrPayloadExpired)
			require.False(t, ring.PayloadValid(&d))
		case 4000:
			// Fall behind by more than a lap: the next event is a gap.
			waitUntil(t, func() bool { return ring.Header().LastSeqno > d.Seqno+MinDescriptorCapacity+10 })
			require.Equal(t, Gap, rd.TryNext(&d))
		}
		buf, err = ring.CopyPayload(&d, buf)
		if err != nil {
			require.ErrorIs(t, err, ErrPayloadExpired)
			expired++
			continue
		}
		require.NoError(t, checkSelf(&d, buf), "seqno %d", d.Seqno)
	}
}

// TestCrossProcessWriterKilledMidRecord kills a writer between reserve and
// commit: readers see the committed events, then NotReady; Reset returns
// promptly with the last committed event; Next reports the dead writer.
func TestCrossProcessWriterKilledMidRecord(t *testing.T) {
	cmd, path, out, _ := startWriter(t, "killmid")
	line, err := out.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "reserved 11\n", line)
	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()
	pids, err := ring.WriterPIDs()
	require.NoError(t, err)
	require.Equal(t, []int{cmd.Process.Pid}, pids)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Equal(t, uint64(11), ring.Header().LastSeqno, "the reservation happened")

	start := time.Now()
	rd := ring.NewReader()
	require.Less(t, time.Since(start), time.Second, "Reset does not hang on the dead reservation")
	require.Equal(t, uint64(9), rd.LastSeqno())
	var d Descriptor
	require.Equal(t, Ready, rd.TryNext(&d))
	require.Equal(t, uint64(10), d.Seqno)
	require.Equal(t, NotReady, rd.TryNext(&d))
	start = time.Now()
	require.Equal(t, uint64(10), rd.Reset())
	require.Less(t, time.Since(start), time.Second)

	old := ring.NewReader()
	old.SetSeqno(1)
	for i := uint64(1); i <= 10; i++ {
		require.Equal(t, Ready, old.TryNext(&d))
		require.NoError(t, checkSelf(&d, ring.Payload(&d)))
	}
	require.Equal(t, NotReady, old.TryNext(&d))

	pids, err = ring.WriterPIDs()
	require.NoError(t, err)
	require.Empty(t, pids)
	old.SetWaitStrategy(WaitStrategy{Spin: 10, MinSleep: time.Microsecond, MaxSleep: time.Millisecond, WriterCheck: 10 * time.Millisecond})
	require.ErrorIs(t, old.Next(context.Background(), &d), ErrWriterGone)
}
