package execevents

import (
	"encoding/hex"
	"math/bits"
	"strconv"

	"github.com/holiman/uint256"
)

// The JSON encoders of the generated types (zjson.go) follow the
// conventions `monad-events watch --json` has always used: members in the
// payload struct's order, named in lower camel case after the Go field
// names (ChainID → chainId, EVMOutput → evmOutput, YParity → yParity);
// integers as numbers and bool as true/false; hashes, addresses, byte
// strings and byte arrays as 0x-prefixed hex strings; uint256 values as
// 0x-hex quantities (no leading zeros, "0x0" for zero); __uint128_t as a
// decimal string; enums by name; nested structs as objects; padding and
// bit-fields left out. A typed event's payload object holds the members of
// its payload struct, then its trailing arrays. The helpers here do the
// appending without allocating.

const hexDigits = "0123456789abcdef"

// appendHex appends b as a JSON string of 0x-prefixed lower-case hex.
func appendHex(dst, b []byte) []byte {
	dst = append(dst, `"0x`...)
	dst = hex.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendUint256 appends x as uint256.Int's Hex does, quoted: "0x" and the
// hex digits without leading zeros.
func appendUint256(dst []byte, x *uint256.Int) []byte {
	dst = append(dst, `"0x`...)
	i := 3
	for i > 0 && x[i] == 0 {
		i--
	}
	dst = strconv.AppendUint(dst, x[i], 16)
	for i--; i >= 0; i-- {
		var w [16]byte
		for j, v := 15, x[i]; j >= 0; j, v = j-1, v>>4 {
			w[j] = hexDigits[v&15]
		}
		dst = append(dst, w[:]...)
	}
	return append(dst, '"')
}

// appendUint128 appends the unsigned 128-bit integer hi:lo as a decimal
// JSON string.
func appendUint128(dst []byte, lo, hi uint64) []byte {
	dst = append(dst, '"')
	if hi == 0 {
		dst = strconv.AppendUint(dst, lo, 10)
		return append(dst, '"')
	}
	// Base 10^19 digits, least significant first; 2^128 has 39 decimal
	// digits, so at most two of them follow the leading part.
	const base = 10_000_000_000_000_000_000
	var low [2]uint64
	n := 0
	for hi != 0 {
		var r uint64
		hi, r = hi/base, hi%base
		lo, low[n] = bits.Div64(r, lo, base)
		n++
	}
	dst = strconv.AppendUint(dst, lo, 10)
	for n > 0 {
		n--
		var w [19]byte
		for j, v := 18, low[n]; j >= 0; j, v = j-1, v/10 {
			w[j] = byte('0' + v%10)
		}
		dst = append(dst, w[:]...)
	}
	return append(dst, '"')
}

// appendEventJSON appends a whole event as a JSON object (see Event's
// AppendJSON).
func appendEventJSON(dst []byte, e Event) []byte {
	m, t := e.Meta(), e.Type()
	dst = append(dst, `{"seqno":`...)
	dst = strconv.AppendUint(dst, m.Seqno, 10)
	dst = append(dst, `,"eventType":`...)
	dst = strconv.AppendQuote(dst, t.String())
	dst = append(dst, `,"eventCode":`...)
	dst = strconv.AppendUint(dst, uint64(t), 10)
	dst = append(dst, `,"recordEpochNanos":`...)
	dst = strconv.AppendUint(dst, m.RecordEpochNanos, 10)
	if f := m.Flow; f.BlockSeqno != 0 {
		dst = append(dst, `,"blockSeqno":`...)
		dst = strconv.AppendUint(dst, f.BlockSeqno, 10)
	}
	if i, ok := m.Flow.TxnIndex(); ok {
		dst = append(dst, `,"txnIndex":`...)
		dst = strconv.AppendUint(dst, i, 10)
	}
	if a := m.Flow.AccountIndex; a != 0 {
		dst = append(dst, `,"accountIndex":`...)
		dst = strconv.AppendUint(dst, a, 10)
	}
	mark := len(dst)
	dst = append(dst, `,"payload":`...)
	n := len(dst)
	if dst = e.AppendPayloadJSON(dst); len(dst) == n {
		dst = dst[:mark] // no payload fields
	}
	return append(dst, '}')
}
