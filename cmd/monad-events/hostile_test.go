package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Hand-made corrupt rings and snapshots, built from the numbers in the ABI
// spec (not from eventring's code): header at 0, descriptors at 2 MiB,
// payload buffer after them (§1.1, §2).

const (
	mib            = 1 << 20
	headerSection  = 2 * mib
	minDescriptors = 1 << 16 // smallest legal capacity (§1.2)
	minPayloadBuf  = 1 << 27 // smallest legal payload buffer (§1.2)
)

// execSchemaHash is the EXEC schema hash at the daemon's HEAD (spec §10.1).
var execSchemaHash = func() (h [32]byte) {
	b, _ := hex.DecodeString("8933f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3")
	copy(h[:], b)
	return h
}()

type ringHdr struct {
	magic                   string
	contentType             uint16
	descCap, payloadBuf     uint64
	contextArea             uint64
	lastSeqno, nextByte, ws uint64
}

func (h ringHdr) bytes() []byte {
	b := make([]byte, 192)
	copy(b, h.magic)
	binary.LittleEndian.PutUint16(b[6:], h.contentType)
	copy(b[8:40], execSchemaHash[:])
	binary.LittleEndian.PutUint64(b[40:], h.descCap)
	binary.LittleEndian.PutUint64(b[48:], h.payloadBuf)
	binary.LittleEndian.PutUint64(b[56:], h.contextArea)
	binary.LittleEndian.PutUint64(b[64:], h.lastSeqno)
	binary.LittleEndian.PutUint64(b[72:], h.nextByte)
	binary.LittleEndian.PutUint64(b[128:], h.ws)
	return b
}

func goodHdr() ringHdr {
	return ringHdr{magic: "RING01", contentType: 2, descCap: minDescriptors, payloadBuf: minPayloadBuf}
}

// descriptor encodes one 64-byte event descriptor (§2.3).
func descriptor(seqno uint64, eventType uint16, size uint32, off uint64, blockSeqno uint64) []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint64(b[0:], seqno)
	binary.LittleEndian.PutUint16(b[8:], eventType)
	binary.LittleEndian.PutUint32(b[12:], size)
	binary.LittleEndian.PutUint64(b[16:], 1_700_000_000_000_000_000)
	binary.LittleEndian.PutUint64(b[24:], off)
	binary.LittleEndian.PutUint64(b[32:], blockSeqno)
	return b
}

// segment is non-zero data at an offset of a ring image.
type segment struct {
	off  uint64
	data []byte
}

// sparseZstd writes a single zstd frame (RFC 8878) whose content is an image
// of total bytes: the segments, zeros elsewhere. Zero runs become RLE blocks
// of 128 KiB, so even a many-gigabyte image is a small file; that is also
// how a "zip bomb" is made.
func sparseZstd(total uint64, segs []segment) []byte {
	const blockMax = 128 << 10
	var out bytes.Buffer
	out.Write([]byte{0x28, 0xb5, 0x2f, 0xfd}) // magic
	out.WriteByte(0x00)                       // no content size, no checksum, not single-segment
	out.WriteByte(7 << 3)                     // window 2^(10+7) = 128 KiB
	type block struct {
		raw []byte // raw block content, or nil for an RLE block of zeros
		n   uint64
	}
	var blocks []block
	pos := uint64(0)
	for _, s := range append(segs, segment{off: total}) {
		for pos < s.off {
			n := min(s.off-pos, blockMax)
			blocks = append(blocks, block{n: n})
			pos += n
		}
		for i := 0; i < len(s.data); i += blockMax {
			c := s.data[i:min(i+blockMax, len(s.data))]
			blocks = append(blocks, block{raw: c, n: uint64(len(c))})
			pos += uint64(len(c))
		}
	}
	for i, bl := range blocks {
		hdr := uint32(bl.n) << 3
		if i == len(blocks)-1 {
			hdr |= 1 // last block
		}
		if bl.raw == nil {
			hdr |= 1 << 1 // RLE
		}
		out.Write([]byte{byte(hdr), byte(hdr >> 8), byte(hdr >> 16)})
		if bl.raw == nil {
			out.WriteByte(0)
		} else {
			out.Write(bl.raw)
		}
	}
	return out.Bytes()
}

// smallRing is a valid, smallest-size EXEC ring image with three
// BLOCK_PERF_EVM_ENTER events (empty payloads), as segments.
func smallRing() (total uint64, segs []segment) {
	h := goodHdr()
	h.lastSeqno = 3
	var descs []byte
	for i := uint64(1); i <= 3; i++ {
		descs = append(descs, descriptor(i, 4, 0, 0, 0)...)
	}
	return headerSection + minDescriptors*64 + minPayloadBuf,
		[]segment{{0, h.bytes()}, {headerSection, descs}}
}

type hostileCase struct {
	name string
	data []byte
	// A live ring file instead of data: a sparse file of liveSize bytes
	// holding the segments.
	liveSize uint64
	live     []segment
	// The file is odd but not inconsistent: the commands may also succeed
	// (status 0); they still must not panic or hang.
	mayWork bool
}

func (c hostileCase) write(path string) error {
	if c.live == nil {
		return os.WriteFile(path, c.data, 0o644)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(c.liveSize)); err != nil {
		return err
	}
	for _, s := range c.live {
		if _, err := f.WriteAt(s.data, int64(s.off)); err != nil {
			return err
		}
	}
	return f.Close()
}

func hostileCases(t *testing.T) []hostileCase {
	t.Helper()
	withHdr := func(mod func(*ringHdr)) []byte {
		h := goodHdr()
		mod(&h)
		return h.bytes()
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(rnd.Uint32())
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zstdGarbage := enc.EncodeAll(garbage, nil)
	enc.Close()

	total, segs := smallRing()
	good := sparseZstd(total, segs)

	// Descriptors that lie: a payload beyond what was ever allocated, a
	// payload larger than the buffer, an offset near 2^64 (§4.3).
	lying := goodHdr()
	lying.lastSeqno, lying.nextByte = 3, 64
	lyingDescs := append(append(descriptor(1, 2, 528, 0, 1), descriptor(2, 10, 0xffff_fff0, 0, 1)...),
		descriptor(3, 18, 32, 1<<63, 1)...)

	// A slot holding a sequence number that cannot be there (slot 1 of a
	// ring that never wrapped says 70000).
	wrongSlot := goodHdr()
	wrongSlot.lastSeqno, wrongSlot.nextByte = 3, 0
	wrongSlotDescs := append(append(descriptor(1, 4, 0, 0, 0), descriptor(70000, 4, 0, 0, 0)...), descriptor(3, 4, 0, 0, 0)...)

	// A live ring whose newest event is 1, but whose next slot claims 70000:
	// a reader waiting for event 2 sees a gap that no reset can resolve.
	pastLast := goodHdr()
	pastLast.lastSeqno = 1
	pastLastDescs := append(descriptor(1, 4, 0, 0, 0), descriptor(70000, 4, 0, 0, 0)...)

	// Sections that add up to more than the decompressed data (§6.5).
	short := goodHdr()
	short.lastSeqno, short.nextByte = 1, 1<<20

	return []hostileCase{
		{name: "empty file", data: nil},
		{name: "bad magic", data: withHdr(func(h *ringHdr) { h.magic = "RONG01" })},
		{name: "bad content type", data: withHdr(func(h *ringHdr) { h.contentType = 7 })},
		{name: "capacity not a power of two", data: withHdr(func(h *ringHdr) { h.descCap = minDescriptors + 1 })},
		{name: "payload buffer not a power of two", data: withHdr(func(h *ringHdr) { h.payloadBuf = 3 << 26 })},
		{name: "capacity past the limit", data: withHdr(func(h *ringHdr) { h.descCap = 1 << 33 })},
		{name: "payload buffer past the limit", data: withHdr(func(h *ringHdr) { h.payloadBuf = 1 << 41 })},
		{name: "payload buffer below the limit", data: withHdr(func(h *ringHdr) { h.payloadBuf = 1 << 26 })},
		{name: "truncated file", data: append(withHdr(func(*ringHdr) {}), make([]byte, 3*mib)...)},
		{name: "zstd magic then garbage", data: append([]byte{0x28, 0xb5, 0x2f, 0xfd}, garbage...)},
		{name: "zstd of garbage", data: zstdGarbage},
		{name: "truncated frame", data: good[:len(good)/2]},
		{name: "two frames", data: append(append([]byte{}, good...), good...)},
		{name: "zip bomb (8 GiB of zeros)", data: sparseZstd(8<<30, []segment{{0, goodHdr().bytes()}})},
		{name: "snapshot shorter than its sections", data: sparseZstd(3*mib, []segment{{0, short.bytes()}})},
		{name: "lying descriptors", data: sparseZstd(total, []segment{{0, lying.bytes()}, {headerSection, lyingDescs}})},
		{name: "lying descriptors in a live ring file", liveSize: total, live: []segment{{0, lying.bytes()}, {headerSection, lyingDescs}}},
		{name: "live ring file with a slot past its last seqno", liveSize: total,
			live: []segment{{0, pastLast.bytes()}, {headerSection, pastLastDescs}}},
		{name: "live ring file claiming 2^62 events it does not hold", liveSize: total,
			live: []segment{{0, withHdr(func(h *ringHdr) { h.lastSeqno = 1 << 62 })}}, mayWork: true},
		{name: "slot holding the wrong seqno", data: sparseZstd(total, []segment{{0, wrongSlot.bytes()}, {headerSection, wrongSlotDescs}})},
	}
}

// TestHostileInput gives every corrupt file to info, watch, blocks and (as
// its source) replay: each run must end with exit status 1 and one line on
// stderr saying why, never a panic trace, a fault or a hang.
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range hostileCases(t) {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		if err := c.write(path); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{{"info"}, {"watch"}, {"watch", "--json"}, {"blocks"}, {"replay"}} {
			c := c
			t.Run(c.name+"/"+strings.Join(cmd, "_"), func(t *testing.T) {
				args := append(append([]string{}, cmd...), path)
				replayed := filepath.Join(dir, "replayed")
				if cmd[0] == "replay" { // replay SNAPSHOT RING
					args = append(args, replayed)
				}
				r := runCmd(t, 30*time.Second, args...)
				msg := strings.TrimSpace(r.stderr)
				if c.mayWork && r.code == 0 {
					if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
						t.Fatalf("stderr:\n%s", r.stderr)
					}
					t.Logf("status 0:\n%s", r.stdout)
					return
				}
				if r.code != 1 {
					t.Fatalf("exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, tail(r.stdout), tail(r.stderr))
				}
				if cmd[0] == "replay" {
					// replay announces what it records before it reads; the
					// reason is its last line, and no ring is left behind.
					msg = msg[strings.LastIndexByte(msg, '\n')+1:]
					if _, err := os.Stat(replayed); err == nil {
						t.Errorf("replay of a corrupt source left %s behind", replayed)
						os.Remove(replayed)
					}
				}
				if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "monad-events: ") {
					t.Fatalf("want one line \"monad-events: <reason>\" on stderr, got:\n%s", tail(r.stderr))
				}
				for _, bad := range []string{"panic", "goroutine ", "SIGSEGV", "SIGBUS", "internal error"} {
					if strings.Contains(msg, bad) {
						t.Fatalf("stderr mentions %q: %s", bad, msg)
					}
				}
				t.Logf("%s", msg)
			})
		}
	}
}

// TestSparseZstdRoundTrip checks the frame builder itself against the zstd
// library, so that hostile cases fail for the reason they were built for.
func TestSparseZstdRoundTrip(t *testing.T) {
	segs := []segment{{0, []byte("RING01")}, {300 << 10, []byte{1, 2, 3}}}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(sparseZstd(1<<20, segs), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 1<<20)
	copy(want, "RING01")
	copy(want[300<<10:], []byte{1, 2, 3})
	if !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes, not the image", len(got))
	}
}

// TestSchemaMismatch: a ring of another schema version is described by
// info but refused by the commands that decode it, with both hashes named.
func TestSchemaMismatch(t *testing.T) {
	total, segs := smallRing()
	h := goodHdr()
	h.lastSeqno = 3
	b := h.bytes()
	b[8] ^= 0xff // first byte of the schema hash
	segs[0] = segment{0, b}
	path := filepath.Join(t.TempDir(), "other-schema.zst")
	if err := os.WriteFile(path, sparseZstd(total, segs), 0o644); err != nil {
		t.Fatal(err)
	}
	theirs := "7633f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3"
	ours := hex.EncodeToString(execSchemaHash[:])
	info := mustRun(t, "info", path).stdout
	if !strings.Contains(info, theirs+" (DOES NOT MATCH the compiled bindings ("+ours+")") {
		t.Errorf("info:\n%s", info)
	}
	for _, cmd := range []string{"watch", "blocks"} {
		r := runCmd(t, 30*time.Second, cmd, path)
		if r.code != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 ||
			!strings.Contains(r.stderr, theirs) || !strings.Contains(r.stderr, ours) || !strings.Contains(r.stderr, "regenerate") {
			t.Errorf("%s: status %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
}
