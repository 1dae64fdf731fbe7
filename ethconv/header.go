package ethconv

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/monadgo/events/blocks"
)

// Fork names a header shape: the set of optional header fields introduced by
// an Ethereum fork. Later forks include the fields of earlier ones.
type Fork uint8

// Header shapes, in fork order.
const (
	ForkFrontier Fork = iota // the 15 original fields
	ForkLondon               // + baseFeePerGas (EIP-1559)
	ForkShanghai             // + withdrawalsRoot (EIP-4895)
	ForkCancun               // + blobGasUsed, excessBlobGas (EIP-4844), parentBeaconBlockRoot (EIP-4788)
	ForkPrague               // + requestsHash (EIP-7685)
)

var forkNames = [...]string{"Frontier", "London", "Shanghai", "Cancun", "Prague"}

// String returns the fork's name.
func (f Fork) String() string {
	if int(f) < len(forkNames) {
		return forkNames[f]
	}
	return fmt.Sprintf("Fork(%d)", uint8(f))
}

// ethereumChains are the chains whose blocks Monad replays in Ethereum mode
// and whose fork schedule go-ethereum knows.
var ethereumChains = map[uint64]*params.ChainConfig{
	1:        params.MainnetChainConfig,
	11155111: params.SepoliaChainConfig,
	560048:   params.HoodiChainConfig,
}

// ChainFork returns the header shape of a block with the given chain id,
// number and timestamp: the fork active at that block for the Ethereum
// chains go-ethereum knows (mainnet, Sepolia, Hoodi), and ForkPrague for any
// other chain, which is taken to be a Monad chain (spec §11.1).
func ChainFork(chainID, number, time uint64) Fork {
	cfg, ok := ethereumChains[chainID]
	if !ok {
		return ForkPrague
	}
	n := new(big.Int).SetUint64(number)
	switch {
	// Osaka adds no header field; Amsterdam's are not in the event schema.
	case cfg.IsPrague(n, time):
		return ForkPrague
	case cfg.IsCancun(n, time):
		return ForkCancun
	case cfg.IsShanghai(n, time):
		return ForkShanghai
	case cfg.IsLondon(n):
		return ForkLondon
	default:
		return ForkFrontier
	}
}

// BlockFork returns ChainFork for an executed block. Chain ids above 2^64
// are not Ethereum chains and yield ForkPrague, as does a nil block.
func BlockFork(b *blocks.ExecutedBlock) Fork {
	if b == nil || !b.Start.ChainID.IsUint64() {
		return ForkPrague
	}
	return ChainFork(b.Start.ChainID.Uint64(), b.Start.EthBlockInput.Number, b.Start.EthBlockInput.Timestamp)
}

// isEthereumChain reports whether b belongs to an Ethereum chain replayed
// by Monad rather than to a Monad chain.
func isEthereumChain(b *blocks.ExecutedBlock) bool {
	if !b.Start.ChainID.IsUint64() {
		return false
	}
	_, ok := ethereumChains[b.Start.ChainID.Uint64()]
	return ok
}

// NewHeader rebuilds the Ethereum header of b in the shape of its chain and
// fork (BlockFork), so that its Hash equals the recorded
// b.End.EthBlockHash.
func NewHeader(b *blocks.ExecutedBlock) (*types.Header, error) {
	if b == nil {
		return nil, ErrNilBlock
	}
	return NewHeaderForFork(b, BlockFork(b))
}

// NewHeaderForFork rebuilds the header of b with the optional fields of fork
// f. Fields the event schema does not carry take Monad's values: a zero
// blob gas used and excess blob gas, a zero parent beacon block root and a
// zero requests hash. From ForkShanghai on, a recorded all-zero withdrawals
// root means "no withdrawals" and becomes the empty-trie root.
func NewHeaderForFork(b *blocks.ExecutedBlock, f Fork) (*types.Header, error) {
	if b == nil {
		return nil, ErrNilBlock
	}
	in := &b.Start.EthBlockInput
	out := &b.End.ExecOutput
	if in.ExtraDataLength > uint64(len(in.ExtraData)) {
		return nil, fmt.Errorf("%w: %d", ErrExtraDataLength, in.ExtraDataLength)
	}
	h := &types.Header{
		ParentHash:  common.Hash(b.Start.ParentEthHash),
		UncleHash:   common.Hash(in.OmmersHash),
		Coinbase:    common.Address(in.Beneficiary),
		Root:        common.Hash(out.StateRoot),
		TxHash:      common.Hash(in.TransactionsRoot),
		ReceiptHash: common.Hash(out.ReceiptsRoot),
		Bloom:       types.Bloom(out.LogsBloom),
		Difficulty:  new(big.Int).SetUint64(in.Difficulty),
		Number:      new(big.Int).SetUint64(in.Number),
		GasLimit:    in.GasLimit,
		GasUsed:     out.GasUsed,
		Time:        in.Timestamp,
		Extra:       common.CopyBytes(in.ExtraData[:in.ExtraDataLength]),
		MixDigest:   common.Hash(in.PrevRandao),
		Nonce:       types.BlockNonce(in.Nonce),
	}
	if f >= ForkLondon {
		h.BaseFee = in.BaseFeePerGas.ToBig()
	}
	if f >= ForkShanghai {
		wr := common.Hash(in.WithdrawalsRoot)
		if wr == (common.Hash{}) {
			wr = types.EmptyRootHash
		}
		h.WithdrawalsHash = &wr
	}
	if f >= ForkCancun {
		h.BlobGasUsed, h.ExcessBlobGas = new(uint64), new(uint64)
		h.ParentBeaconRoot = new(common.Hash)
	}
	if f >= ForkPrague {
		h.RequestsHash = new(common.Hash)
	}
	return h, nil
}

// pragueShape returns a copy of h extended to the Prague shape the way
// Monad's RPC renders every header (spec §11.1).
func pragueShape(h *types.Header) *types.Header {
	p := types.CopyHeader(h)
	if p.BaseFee == nil {
		p.BaseFee = new(big.Int)
	}
	if p.WithdrawalsHash == nil {
		p.WithdrawalsHash = new(common.Hash)
	}
	if p.BlobGasUsed == nil {
		p.BlobGasUsed = new(uint64)
	}
	if p.ExcessBlobGas == nil {
		p.ExcessBlobGas = new(uint64)
	}
	if p.ParentBeaconRoot == nil {
		p.ParentBeaconRoot = new(common.Hash)
	}
	if p.RequestsHash == nil {
		p.RequestsHash = new(common.Hash)
	}
	return p
}
