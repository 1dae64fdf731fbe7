package execevents

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/holiman/uint256"
)

// TestAppendNumbers checks the allocation-free renderings against
// uint256.Int's Hex and Dec, which the reflect renderer used.
func TestAppendNumbers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	edge := []uint64{0, 1, 9, 10, 15, 16, math.MaxUint32, 1 << 63, 9_999_999_999_999_999_999, 10_000_000_000_000_000_000, math.MaxUint64}
	var xs []uint256.Int
	for _, a := range edge {
		for _, b := range edge {
			xs = append(xs, uint256.Int{a, b, 0, 0}, uint256.Int{0, 0, a, b}, uint256.Int{a, 0, 0, b})
		}
	}
	for range 2000 {
		var x uint256.Int
		for i := range x {
			if rng.IntN(3) > 0 {
				x[i] = rng.Uint64() >> rng.IntN(64)
			}
		}
		xs = append(xs, x)
	}
	for _, x := range xs {
		if got, want := string(appendUint256(nil, &x)), strconv.Quote(x.Hex()); got != want {
			t.Errorf("appendUint256(%v) = %s, want %s", x, got, want)
		}
		y := uint256.Int{x[0], x[1], 0, 0}
		if got, want := string(appendUint128(nil, x[0], x[1])), strconv.Quote(y.Dec()); got != want {
			t.Errorf("appendUint128(%d, %d) = %s, want %s", x[0], x[1], got, want)
		}
	}
	if got := string(appendHex(nil, []byte{0, 0xab})); got != `"0x00ab"` {
		t.Errorf("appendHex = %s", got)
	}
	if got := string(appendHex(nil, nil)); got != `"0x"` {
		t.Errorf("appendHex(nil) = %s", got)
	}
}
