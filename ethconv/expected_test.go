package ethconv_test

// This file adapts the reference output expected.json.zst, written by
// another SDK in its Ethereum library's (alloy's) JSON shape, to one
// comparison model, and maps this package's go-ethereum values to the same
// model. The adaptation lives here, not in the library.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/klauspost/compress/zstd"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
)

// num is an integer normalised to decimal. The reference prints some
// integers as JSON numbers and others (U256 values) as hex strings; "" means
// absent.
type num string

func (n *num) UnmarshalJSON(b []byte) error {
	var x big.Int
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if !strings.HasPrefix(str, "0x") {
			return fmt.Errorf("quantity %q lacks 0x", str)
		}
		if _, ok := x.SetString(str[2:], 16); !ok {
			return fmt.Errorf("bad hex quantity %q", str)
		}
	} else if _, ok := x.SetString(s, 10); !ok {
		return fmt.Errorf("bad number %s", s)
	}
	*n = num(x.String())
	return nil
}

func bigNum(x *big.Int) num {
	if x == nil {
		return ""
	}
	return num(x.String())
}

func uNum(x uint64) num { return num(fmt.Sprint(x)) }

// hexData is a byte string as lower-case 0x-prefixed hex.
type hexData string

func (h *hexData) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*h = hexData(strings.ToLower(s))
	return nil
}

func hexOf(b []byte) hexData { return hexData(hexutil.Encode(b)) }

type expUpdate struct {
	Executed   *expExecuted   `json:"Executed,omitempty"`
	Referendum *expReferendum `json:"Referendum,omitempty"`
}

type expTag struct {
	BlockNumber uint64      `json:"block_number"`
	ID          common.Hash `json:"id"`
}

type expExecuted struct {
	BlockTag     expTag      `json:"block_tag"`
	ChainID      num         `json:"chain_id"`
	CommitState  string      `json:"commit_state"`
	EthBlockHash common.Hash `json:"eth_block_hash"`
	EthHeader    expHeader   `json:"eth_header"`
	Transactions []expTxn    `json:"transactions"`
}

type expReferendum struct {
	BlockTag expTag `json:"block_tag"`
	Outcome  string `json:"outcome"`
	// Superseded holds the tags of the abandoned proposals; the reference
	// elements are normalised by decodeSuperseded.
	Superseded []expTag          `json:"-"`
	RawSup     []json.RawMessage `json:"superseded_proposals"`
}

type expHeader struct {
	BaseFeePerGas         num              `json:"baseFeePerGas"`
	Difficulty            num              `json:"difficulty"`
	ExtraData             hexData          `json:"extraData"`
	GasLimit              num              `json:"gasLimit"`
	GasUsed               num              `json:"gasUsed"`
	LogsBloom             types.Bloom      `json:"logsBloom"`
	Miner                 common.Address   `json:"miner"`
	MixHash               common.Hash      `json:"mixHash"`
	Nonce                 types.BlockNonce `json:"nonce"`
	Number                num              `json:"number"`
	ParentHash            common.Hash      `json:"parentHash"`
	ReceiptsRoot          common.Hash      `json:"receiptsRoot"`
	Sha3Uncles            common.Hash      `json:"sha3Uncles"`
	StateRoot             common.Hash      `json:"stateRoot"`
	Timestamp             num              `json:"timestamp"`
	TransactionsRoot      common.Hash      `json:"transactionsRoot"`
	WithdrawalsRoot       *common.Hash     `json:"withdrawalsRoot"`
	BlobGasUsed           num              `json:"blobGasUsed"`
	ExcessBlobGas         num              `json:"excessBlobGas"`
	ParentBeaconBlockRoot *common.Hash     `json:"parentBeaconBlockRoot"`
	RequestsHash          *common.Hash     `json:"requestsHash"`
}

type expTxn struct {
	Receipt     expReceipt     `json:"receipt"`
	Sender      common.Address `json:"sender"`
	TxnEnvelope expEnvelope    `json:"txn_envelope"`
	TxnGasUsed  num            `json:"txn_gas_used"`
	TxnIndex    uint64         `json:"txn_index"`
}

type expReceipt struct {
	CumulativeGasUsed num      `json:"cumulativeGasUsed"`
	Logs              []expLog `json:"logs"`
	Status            num      `json:"status"`
}

type expLog struct {
	Address common.Address `json:"address"`
	Topics  []common.Hash  `json:"topics"`
	Data    hexData        `json:"data"`
}

type expEnvelope struct {
	Type                 num             `json:"type"`
	ChainID              num             `json:"chainId"`
	Nonce                num             `json:"nonce"`
	GasLimit             num             `json:"gasLimit"`
	GasPrice             num             `json:"gasPrice"`
	MaxFeePerGas         num             `json:"maxFeePerGas"`
	MaxPriorityFeePerGas num             `json:"maxPriorityFeePerGas"`
	MaxFeePerBlobGas     num             `json:"maxFeePerBlobGas"`
	To                   *common.Address `json:"to"`
	Value                num             `json:"value"`
	AccessList           *[]expAccess    `json:"accessList"`
	BlobVersionedHashes  []common.Hash   `json:"blobVersionedHashes"`
	AuthorizationList    []expAuth       `json:"authorizationList"`
	Input                hexData         `json:"input"`
	R                    num             `json:"r"`
	S                    num             `json:"s"`
	V                    num             `json:"v"`
	YParity              num             `json:"yParity"`
	Hash                 common.Hash     `json:"hash"`
}

type expAccess struct {
	Address     common.Address `json:"address"`
	StorageKeys []common.Hash  `json:"storageKeys"`
}

type expAuth struct {
	ChainID num            `json:"chainId"`
	Address common.Address `json:"address"`
	Nonce   num            `json:"nonce"`
	YParity num            `json:"yParity"`
	R       num            `json:"r"`
	S       num            `json:"s"`
}

// loadExpected decodes an expected.json.zst file strictly: a field this
// model does not know fails the test rather than going unchecked.
func loadExpected(tb testing.TB, path string) []expUpdate {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	defer zr.Close()
	dec := json.NewDecoder(zr)
	dec.DisallowUnknownFields()
	var out []expUpdate
	if err := dec.Decode(&out); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	for i := range out {
		u := &out[i]
		if (u.Executed == nil) == (u.Referendum == nil) {
			tb.Fatalf("%s: update %d is neither Executed nor Referendum", path, i)
		}
		if r := u.Referendum; r != nil {
			r.Superseded = decodeSuperseded(tb, r.RawSup)
			r.RawSup = nil
		}
	}
	return out
}

// decodeSuperseded reduces the reference's superseded proposals to their
// block tags. The reference data seen so far has none, so every plausible
// element shape is accepted: a tag, an object with a block_tag, or such an
// object wrapped in a single-key object.
func decodeSuperseded(tb testing.TB, raw []json.RawMessage) []expTag {
	tb.Helper()
	tags := make([]expTag, 0, len(raw))
	for _, r := range raw {
		var tag expTag
		var withTag struct {
			BlockTag *expTag `json:"block_tag"`
		}
		var wrapped map[string]json.RawMessage
		switch {
		case json.Unmarshal(r, &withTag) == nil && withTag.BlockTag != nil:
			tag = *withTag.BlockTag
		case bytes.Contains(r, []byte(`"block_number"`)) && json.Unmarshal(r, &tag) == nil && tag.ID != (common.Hash{}):
		case json.Unmarshal(r, &wrapped) == nil && len(wrapped) == 1:
			for _, v := range wrapped {
				tags = append(tags, decodeSuperseded(tb, []json.RawMessage{v})...)
			}
			continue
		default:
			tb.Fatalf("unrecognised superseded proposal: %s", r)
		}
		tags = append(tags, tag)
	}
	return tags
}

// modelUpdate maps one produced commit update to the comparison model,
// converting its block with this package.
func modelUpdate(tb testing.TB, u blocks.Update, conv func(*blocks.ExecutedBlock) *ethconv.Block) expUpdate {
	tb.Helper()
	tag := expTag{BlockNumber: u.Block.Start.BlockTag.BlockNumber, ID: common.Hash(u.Block.Start.BlockTag.ID)}
	if u.State != blocks.CommitProposed {
		sup := make([]expTag, 0, len(u.Abandoned))
		for _, a := range u.Abandoned {
			sup = append(sup, expTag{BlockNumber: a.Start.BlockTag.BlockNumber, ID: common.Hash(a.Start.BlockTag.ID)})
		}
		return expUpdate{Referendum: &expReferendum{BlockTag: tag, Outcome: u.State.String(), Superseded: sup}}
	}
	b := conv(u.Block)
	return expUpdate{Executed: &expExecuted{
		BlockTag:     tag,
		ChainID:      bigNum(b.ChainID),
		CommitState:  u.State.String(),
		EthBlockHash: b.Hash,
		EthHeader:    modelHeader(b.Header),
		Transactions: modelTxns(b),
	}}
}

func modelHeader(h *types.Header) expHeader {
	m := expHeader{
		BaseFeePerGas:         bigNum(h.BaseFee),
		Difficulty:            bigNum(h.Difficulty),
		ExtraData:             hexOf(h.Extra),
		GasLimit:              uNum(h.GasLimit),
		GasUsed:               uNum(h.GasUsed),
		LogsBloom:             h.Bloom,
		Miner:                 h.Coinbase,
		MixHash:               h.MixDigest,
		Nonce:                 h.Nonce,
		Number:                bigNum(h.Number),
		ParentHash:            h.ParentHash,
		ReceiptsRoot:          h.ReceiptHash,
		Sha3Uncles:            h.UncleHash,
		StateRoot:             h.Root,
		Timestamp:             uNum(h.Time),
		TransactionsRoot:      h.TxHash,
		WithdrawalsRoot:       h.WithdrawalsHash,
		ParentBeaconBlockRoot: h.ParentBeaconRoot,
		RequestsHash:          h.RequestsHash,
	}
	if h.BlobGasUsed != nil {
		m.BlobGasUsed = uNum(*h.BlobGasUsed)
	}
	if h.ExcessBlobGas != nil {
		m.ExcessBlobGas = uNum(*h.ExcessBlobGas)
	}
	return m
}

func modelTxns(b *ethconv.Block) []expTxn {
	out := make([]expTxn, len(b.Transactions))
	for i, tx := range b.Transactions {
		r := b.Receipts[i]
		logs := make([]expLog, len(r.Logs))
		for j, l := range r.Logs {
			logs[j] = expLog{Address: l.Address, Topics: append([]common.Hash{}, l.Topics...), Data: hexOf(l.Data)}
		}
		out[i] = expTxn{
			Receipt:     expReceipt{CumulativeGasUsed: uNum(r.CumulativeGasUsed), Logs: logs, Status: uNum(r.Status)},
			Sender:      b.Senders[i],
			TxnEnvelope: modelEnvelope(tx),
			TxnGasUsed:  uNum(r.GasUsed),
			TxnIndex:    uint64(i),
		}
	}
	return out
}

// modelEnvelope maps a transaction to alloy's envelope fields: legacy
// transactions have gasPrice and v (and chainId only when EIP-155
// protected), typed ones chainId, yParity and an access list; the fee-market
// types have the two fee caps instead of gasPrice.
func modelEnvelope(tx *types.Transaction) expEnvelope {
	v, r, s := tx.RawSignatureValues()
	e := expEnvelope{
		Type:     uNum(uint64(tx.Type())),
		Nonce:    uNum(tx.Nonce()),
		GasLimit: uNum(tx.Gas()),
		To:       tx.To(),
		Value:    bigNum(tx.Value()),
		Input:    hexOf(tx.Data()),
		R:        bigNum(r),
		S:        bigNum(s),
		Hash:     tx.Hash(),
	}
	if tx.Type() == types.LegacyTxType {
		e.V = bigNum(v)
		if tx.Protected() {
			e.ChainID = bigNum(tx.ChainId())
		}
	} else {
		e.ChainID = bigNum(tx.ChainId())
		e.YParity = bigNum(v)
		al := make([]expAccess, len(tx.AccessList()))
		for i, t := range tx.AccessList() {
			al[i] = expAccess{Address: t.Address, StorageKeys: append([]common.Hash{}, t.StorageKeys...)}
		}
		e.AccessList = &al
	}
	switch tx.Type() {
	case types.LegacyTxType, types.AccessListTxType:
		e.GasPrice = bigNum(tx.GasPrice())
	default:
		e.MaxFeePerGas = bigNum(tx.GasFeeCap())
		e.MaxPriorityFeePerGas = bigNum(tx.GasTipCap())
	}
	if tx.Type() == types.BlobTxType {
		e.MaxFeePerBlobGas = bigNum(tx.BlobGasFeeCap())
		e.BlobVersionedHashes = tx.BlobHashes()
	}
	if tx.Type() == types.SetCodeTxType {
		for _, a := range tx.SetCodeAuthorizations() {
			e.AuthorizationList = append(e.AuthorizationList, expAuth{
				ChainID: bigNum(a.ChainID.ToBig()), Address: a.Address, Nonce: uNum(a.Nonce),
				YParity: uNum(uint64(a.V)), R: bigNum(a.R.ToBig()), S: bigNum(a.S.ToBig()),
			})
		}
	}
	return e
}
