package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// maxTopics is the number of topic positions a log has at most (LOG0..LOG4).
const maxTopics = 4

// LogFilter is the filter object of the logs and monadLogs subscriptions,
// with go-ethereum's semantics: a log matches when its address is one of
// Addresses (any if empty) and, for every position i of Topics, its topic i
// is one of Topics[i] (an empty position matches anything, and a log with
// fewer topics than positions never matches). FromBlock and ToBlock bound
// the block number (nil: unbounded; block tags such as "latest" leave the
// bound open); BlockHash restricts to one block.
type LogFilter struct {
	Addresses []common.Address
	Topics    [][]common.Hash
	FromBlock *uint64
	ToBlock   *uint64
	BlockHash *common.Hash
}

// UnmarshalJSON parses {"address": A | [A...], "topics": [T | [T...] | null
// ...], "fromBlock": N, "toBlock": N, "blockHash": H} as go-ethereum does:
// a null position or a null inside a position's list is a wildcard.
func (f *LogFilter) UnmarshalJSON(b []byte) error {
	var raw struct {
		Address   json.RawMessage   `json:"address"`
		Topics    []json.RawMessage `json:"topics"`
		FromBlock *string           `json:"fromBlock"`
		ToBlock   *string           `json:"toBlock"`
		BlockHash *common.Hash      `json:"blockHash"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	*f = LogFilter{BlockHash: raw.BlockHash}
	if a := bytes.TrimSpace(raw.Address); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		if a[0] == '[' {
			if err := json.Unmarshal(a, &f.Addresses); err != nil {
				return fmt.Errorf("filter address: %w", err)
			}
		} else {
			var one common.Address
			if err := json.Unmarshal(a, &one); err != nil {
				return fmt.Errorf("filter address: %w", err)
			}
			f.Addresses = []common.Address{one}
		}
	}
	if len(raw.Topics) > maxTopics {
		return fmt.Errorf("filter: %d topic positions, at most %d", len(raw.Topics), maxTopics)
	}
	for i, t := range raw.Topics {
		t = bytes.TrimSpace(t)
		var pos []common.Hash
		switch {
		case len(t) == 0 || bytes.Equal(t, []byte("null")):
		case t[0] == '[':
			var list []*common.Hash
			if err := json.Unmarshal(t, &list); err != nil {
				return fmt.Errorf("filter topic %d: %w", i, err)
			}
			for _, h := range list {
				if h == nil { // a null in the list: this position matches anything
					pos = nil
					break
				}
				pos = append(pos, *h)
			}
		default:
			var h common.Hash
			if err := json.Unmarshal(t, &h); err != nil {
				return fmt.Errorf("filter topic %d: %w", i, err)
			}
			pos = []common.Hash{h}
		}
		f.Topics = append(f.Topics, pos)
	}
	var err error
	if f.FromBlock, err = blockBound(raw.FromBlock); err != nil {
		return fmt.Errorf("filter fromBlock: %w", err)
	}
	if f.ToBlock, err = blockBound(raw.ToBlock); err != nil {
		return fmt.Errorf("filter toBlock: %w", err)
	}
	if f.BlockHash != nil && (f.FromBlock != nil || f.ToBlock != nil) {
		return errors.New("filter: blockHash excludes fromBlock and toBlock")
	}
	return nil
}

// blockBound parses a block number (0x-hex or decimal) or a tag (no bound).
func blockBound(s *string) (*uint64, error) {
	if s == nil {
		return nil, nil
	}
	switch *s {
	case "latest", "pending", "earliest", "safe", "finalized":
		return nil, nil
	}
	n, err := parseQuantity(*s)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// parseQuantity parses a 0x-hex quantity or a decimal number.
func parseQuantity(s string) (uint64, error) {
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		if h == "" || len(h) > 16 {
			return 0, fmt.Errorf("bad quantity %q", s)
		}
		return strconv.ParseUint(h, 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

// mayMatchBlock tests the block's logs bloom and range first, as the Monad
// RPC server does, so that blocks that cannot match are skipped.
func (f *LogFilter) mayMatchBlock(number uint64, hash common.Hash, bloom types.Bloom) bool {
	if f.FromBlock != nil && number < *f.FromBlock || f.ToBlock != nil && number > *f.ToBlock {
		return false
	}
	if f.BlockHash != nil && *f.BlockHash != hash {
		return false
	}
	if len(f.Addresses) > 0 && !slices.ContainsFunc(f.Addresses, func(a common.Address) bool { return types.BloomLookup(bloom, a) }) {
		return false
	}
	for _, pos := range f.Topics {
		if len(pos) > 0 && !slices.ContainsFunc(pos, func(h common.Hash) bool { return types.BloomLookup(bloom, h) }) {
			return false
		}
	}
	return true
}

// matches reports whether one log matches.
func (f *LogFilter) matches(l *types.Log) bool {
	if len(f.Addresses) > 0 && !slices.Contains(f.Addresses, l.Address) {
		return false
	}
	if len(f.Topics) > len(l.Topics) {
		return false
	}
	for i, pos := range f.Topics {
		if len(pos) > 0 && !slices.Contains(pos, l.Topics[i]) {
			return false
		}
	}
	return true
}
