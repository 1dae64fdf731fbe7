package main

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
)

// This file builds the demo chain with go-ethereum alone: keys, signed
// transactions, a small modelled world state, receipts, headers and the
// consensus script. Everything is a pure function of the constants below, so
// the output is the same on every run.

const (
	demoChainID = 20143      // Monad devnet: Prague-shaped headers (spec §11.1)
	firstNumber = 1_000_000  // number of the first demo block
	demoEpoch   = 7          // consensus epoch of every demo proposal
	firstRound  = 4_200_010  // consensus round of the first demo proposal
	baseTime    = 1767225600 // 2026-01-01T00:00:00Z, the first proposal's time
	blockGas    = 200_000_000
	gwei        = 1_000_000_000
	baseFeeWei  = 100 * gwei
)

var (
	chainIDBig = big.NewInt(demoChainID)
	chainIDU   = uint256.NewInt(demoChainID)
	// pragueSigner signs and recovers every typed transaction of the demo;
	// the pre-EIP-155 one uses the Homestead signer.
	pragueSigner = types.NewPragueSigner(chainIDBig)

	ether = new(uint256.Int).Mul(uint256.NewInt(gwei), uint256.NewInt(gwei))

	transferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	executedTopic = crypto.Keccak256Hash([]byte("Executed(address,uint256)"))
	// transferSelector is ERC-20 transfer(address,uint256).
	transferSelector = crypto.Keccak256([]byte("transfer(address,uint256)"))[:4]
	// executeSelector is the batcher's execute(address,uint256).
	executeSelector = crypto.Keccak256([]byte("execute(address,uint256)"))[:4]
)

// Named demo accounts. Keys are Keccak-256 of fixed strings: valid secp256k1
// scalars, reproducible, and obviously not anybody's real key.
var (
	keyAlice = demoKey("alice")
	keyBob   = demoKey("bob")
	keyCarol = demoKey("carol")
	keyDave  = demoKey("dave")
	keyErin  = demoKey("erin")
	keyFrank = demoKey("frank")

	alice = crypto.PubkeyToAddress(keyAlice.PublicKey)
	bob   = crypto.PubkeyToAddress(keyBob.PublicKey)
	carol = crypto.PubkeyToAddress(keyCarol.PublicKey)
	dave  = crypto.PubkeyToAddress(keyDave.PublicKey)
	erin  = crypto.PubkeyToAddress(keyErin.PublicKey)
	frank = crypto.PubkeyToAddress(keyFrank.PublicKey)

	// validators propose the demo blocks (their compressed keys are the
	// BLOCK_START authors).
	validators = []*ecdsa.PrivateKey{demoKey("validator-0"), demoKey("validator-1"), demoKey("validator-2")}
	// beneficiary receives the priority fees (block epilogue).
	beneficiary = common.HexToAddress("0x00000000000000000000000000000000000fee01")
	// batcher is the contract dave delegates to with EIP-7702.
	batcher     = common.HexToAddress("0x0000000000000000000000000000000000ba7c4e")
	batcherCode = []byte{0x60, 0x80, 0x60, 0x40, 0x52, 0x36, 0x15, 0x60, 0x0e, 0x57, 0x00, 0x5b, 0xba, 0x7c, 0x4e}

	tokenRuntime = append([]byte{0x60, 0x80, 0x60, 0x40, 0x52, 0x34, 0x80, 0x15, 0x61, 0x00, 0x10, 0x57, 0x5f, 0x80, 0xfd, 0x5b},
		[]byte("monadgo/events demo token DEMO: ERC-20 runtime placeholder")...)
	tokenInit = append(append([]byte{0x60, 0x80, 0x60, 0x40, 0x52, 0x34, 0x80, 0x15, 0x60, 0x0e, 0x57, 0x5f, 0x80, 0xfd, 0x5b, 0x50,
		0x61, 0x00, byte(len(tokenRuntime)), 0x80, 0x61, 0x00, 0x20, 0x5f, 0x39, 0x5f, 0xf3, 0xfe}, tokenRuntime...), make([]byte, 32)...)
	// token is the ERC-20 alice deploys in the first block (her nonce 1).
	token = crypto.CreateAddress(alice, 1)
)

const (
	tokenBalanceSlot = 0 // mapping(address => uint256) balances
	tokenSupplySlot  = 2 // uint256 totalSupply
	tokenLockSlot    = 0x10
)

func demoKey(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("monadgo/events demo key: " + name)))
	if err != nil {
		panic(err) // cannot happen: a fixed, valid scalar
	}
	return k
}

// account is one account of the modelled world state.
type account struct {
	Nonce    uint64
	Balance  uint256.Int
	CodeHash common.Hash
	Storage  map[common.Hash]common.Hash
}

type world map[common.Address]*account

func (w world) clone() world {
	c := make(world, len(w))
	for a, acc := range w {
		n := *acc
		n.Storage = make(map[common.Hash]common.Hash, len(acc.Storage))
		for k, v := range acc.Storage {
			n.Storage[k] = v
		}
		c[a] = &n
	}
	return c
}

func (w world) get(a common.Address) *account {
	if acc, ok := w[a]; ok {
		return acc
	}
	acc := &account{CodeHash: types.EmptyCodeHash, Storage: map[common.Hash]common.Hash{}}
	w[a] = acc
	return acc
}

// root is the real Merkle-Patricia state root of the modelled world.
func (w world) root() common.Hash {
	type kv struct{ k, v []byte }
	var accounts []kv
	for addr, acc := range w {
		var slots []kv
		for k, v := range acc.Storage {
			if v == (common.Hash{}) {
				continue
			}
			enc, _ := rlp.EncodeToBytes(common.TrimLeftZeroes(v[:]))
			slots = append(slots, kv{crypto.Keccak256(k[:]), enc})
		}
		sroot := stackRoot(slots, func(x kv) ([]byte, []byte) { return x.k, x.v })
		bal := acc.Balance
		enc, err := rlp.EncodeToBytes(&types.StateAccount{Nonce: acc.Nonce, Balance: &bal, Root: sroot, CodeHash: acc.CodeHash[:]})
		if err != nil {
			panic(err)
		}
		accounts = append(accounts, kv{crypto.Keccak256(addr[:]), enc})
	}
	return stackRoot(accounts, func(x kv) ([]byte, []byte) { return x.k, x.v })
}

func stackRoot[T any](items []T, kv func(T) ([]byte, []byte)) common.Hash {
	slices.SortFunc(items, func(a, b T) int {
		ka, _ := kv(a)
		kb, _ := kv(b)
		return strings.Compare(string(ka), string(kb))
	})
	st := trie.NewStackTrie(nil)
	for _, it := range items {
		k, v := kv(it)
		if err := st.Update(k, v); err != nil {
			panic(err)
		}
	}
	return st.Hash()
}

// slotAccess is one STORAGE_ACCESS.
type slotAccess struct {
	Key, Start, End common.Hash
	Modified        bool
}

// accountAccess is one ACCOUNT_ACCESS with its storage accesses.
type accountAccess struct {
	Address            common.Address
	Pre                account // Storage unused
	Balance            uint256.Int
	Nonce              uint64
	BalanceModified    bool
	NonceModified      bool
	Storage, Transient []slotAccess
}

// tracker records the accounts one scope touches, in first-touch order, with
// their state before the scope.
type tracker struct {
	w         world
	order     []common.Address
	acc       map[common.Address]*accountAccess
	transient map[common.Hash]common.Hash
}

func newTracker(w world) *tracker {
	return &tracker{w: w, acc: map[common.Address]*accountAccess{}, transient: map[common.Hash]common.Hash{}}
}

func (t *tracker) touch(a common.Address) *account {
	acc := t.w.get(a)
	if _, ok := t.acc[a]; !ok {
		t.order = append(t.order, a)
		t.acc[a] = &accountAccess{Address: a, Pre: account{Nonce: acc.Nonce, Balance: acc.Balance, CodeHash: acc.CodeHash}}
	}
	return acc
}

func (t *tracker) slot(a common.Address, key common.Hash, transient bool) *slotAccess {
	t.touch(a)
	aa := t.acc[a]
	list := &aa.Storage
	if transient {
		list = &aa.Transient
	}
	for i := range *list {
		if (*list)[i].Key == key {
			return &(*list)[i]
		}
	}
	start := t.w[a].Storage[key]
	if transient {
		start = t.transient[key]
	}
	*list = append(*list, slotAccess{Key: key, Start: start})
	return &(*list)[len(*list)-1]
}

func (t *tracker) sload(a common.Address, key common.Hash) common.Hash {
	return t.slot(a, key, false).Start
}

func (t *tracker) sstore(a common.Address, key, v common.Hash) {
	s := t.slot(a, key, false)
	t.w[a].Storage[key] = v
	s.End, s.Modified = v, v != s.Start
}

func (t *tracker) tstore(a common.Address, key, v common.Hash) {
	s := t.slot(a, key, true)
	t.transient[key] = v
	s.End, s.Modified = v, v != s.Start
}

func (t *tracker) addBalance(a common.Address, v *uint256.Int) {
	acc := t.touch(a)
	acc.Balance.Add(&acc.Balance, v)
}

func (t *tracker) subBalance(a common.Address, v *uint256.Int) {
	acc := t.touch(a)
	if acc.Balance.Lt(v) {
		panic(fmt.Sprintf("demo script bug: %s cannot pay %s", a, v))
	}
	acc.Balance.Sub(&acc.Balance, v)
}

// finish returns the accesses with their post-scope values.
func (t *tracker) finish() []accountAccess {
	out := make([]accountAccess, 0, len(t.order))
	for _, a := range t.order {
		aa := *t.acc[a]
		now := t.w[a]
		aa.BalanceModified = !now.Balance.Eq(&aa.Pre.Balance)
		aa.NonceModified = now.Nonce != aa.Pre.Nonce
		if aa.BalanceModified {
			aa.Balance = now.Balance
		}
		if aa.NonceModified {
			aa.Nonce = now.Nonce
		}
		for _, l := range [][]slotAccess{aa.Storage, aa.Transient} {
			for i := range l {
				if !l[i].Modified {
					l[i].End = common.Hash{}
				}
			}
		}
		out = append(out, aa)
	}
	return out
}

// callFrame is one TXN_CALL_FRAME.
type callFrame struct {
	Caller, Target common.Address
	Opcode         byte
	Value          uint256.Int
	Gas, GasUsed   uint64
	Status         int32 // EVMC status code
	Depth          uint64
	Input, Return  []byte
}

// authority is a recovered EIP-7702 signer.
type authority struct {
	Address common.Address
	Valid   bool
}

// txn is one executed demo transaction.
type txn struct {
	Tx          *types.Transaction
	Sender      common.Address
	Authorities []authority
	Receipt     *types.Receipt // Type, Status, GasUsed, CumulativeGasUsed, Logs, Bloom
	Frames      []callFrame
	Accesses    []accountAccess
}

// proposal is one proposed and executed demo block.
type proposal struct {
	ID                 common.Hash
	Round, Epoch       uint64
	ProposalNanos      uint64
	Author             [33]byte
	Header             *types.Header
	Txns               []*txn
	Prologue, Epilogue []accountAccess
}

// Number is the proposal's block number.
func (p *proposal) Number() uint64 { return p.Header.Number.Uint64() }

type stepKind int

const (
	stepQC stepKind = iota
	stepStart
	stepFinalized
	stepVerified
)

// step is one consensus-level event of the script: a BLOCK_QC, a whole
// executed block (BLOCK_START .. BLOCK_END), a BLOCK_FINALIZED or a
// BLOCK_VERIFIED.
type step struct {
	Kind         stepKind
	Block        *proposal // stepStart, and stepQC/stepFinalized of a demo block
	ID           common.Hash
	Number       uint64
	Round, Epoch uint64 // stepQC
}

// demo is the whole scripted recording.
type demo struct {
	Steps     []step
	Proposals []*proposal
}

// chainBuilder executes transactions against a world and assembles a block.
type chainBuilder struct {
	w      world
	num    uint64
	txns   []*txn
	cumGas uint64
	tips   uint256.Int
}

// txnSpec describes one transaction of the script.
type txnSpec struct {
	Key     *ecdsa.PrivateKey
	Signer  types.Signer // nil: the Prague signer
	Data    types.TxData
	ExecGas uint64 // gas used beyond the intrinsic gas
	Fail    bool   // execution reverts
	// Run applies the transaction's effects (beyond the sender's fee and
	// nonce, and the value transfer) and returns its logs and call frames.
	Run func(t *tracker, c *runCtx)
}

type runCtx struct {
	Tx       *types.Transaction
	Sender   common.Address
	Logs     []*types.Log
	Frames   []callFrame
	GasAvail uint64 // gas limit minus intrinsic gas
	ExecGas  uint64
}

func intrinsicGas(tx *types.Transaction) uint64 {
	g := params.TxGas
	if tx.To() == nil {
		g = params.TxGasContractCreation
		g += params.InitCodeWordGas * uint64((len(tx.Data())+31)/32)
	}
	for _, b := range tx.Data() {
		if b == 0 {
			g += params.TxDataZeroGas
		} else {
			g += params.TxDataNonZeroGasEIP2028
		}
	}
	for _, t := range tx.AccessList() {
		g += params.TxAccessListAddressGas + params.TxAccessListStorageKeyGas*uint64(len(t.StorageKeys))
	}
	g += params.CallNewAccountGas * uint64(len(tx.SetCodeAuthorizations()))
	return g
}

func effectiveGasPrice(tx *types.Transaction) *uint256.Int {
	switch tx.Type() {
	case types.LegacyTxType, types.AccessListTxType:
		return uint256.MustFromBig(tx.GasPrice())
	}
	p := new(uint256.Int).Add(uint256.NewInt(baseFeeWei), uint256.MustFromBig(tx.GasTipCap()))
	if fc := uint256.MustFromBig(tx.GasFeeCap()); fc.Lt(p) {
		p = fc
	}
	return p
}

func (b *chainBuilder) add(s txnSpec) *txn {
	signer := s.Signer
	if signer == nil {
		signer = pragueSigner
	}
	tx, err := types.SignNewTx(s.Key, signer, s.Data)
	if err != nil {
		panic(err)
	}
	sender, err := types.Sender(signer, tx)
	if err != nil {
		panic(err)
	}
	t := newTracker(b.w)
	intrinsic := intrinsicGas(tx)
	gasUsed := intrinsic + s.ExecGas
	if gasUsed > tx.Gas() {
		panic(fmt.Sprintf("demo script bug: txn %s uses %d gas > limit %d", tx.Hash(), gasUsed, tx.Gas()))
	}
	price := effectiveGasPrice(tx)
	fee := new(uint256.Int).Mul(uint256.NewInt(gasUsed), price)
	t.subBalance(sender, fee)
	t.touch(sender).Nonce++
	tip := new(uint256.Int).Sub(price, uint256.NewInt(baseFeeWei))
	b.tips.Add(&b.tips, tip.Mul(tip, uint256.NewInt(gasUsed)))

	out := &txn{Tx: tx, Sender: sender}
	for _, auth := range tx.SetCodeAuthorizations() {
		a, err := auth.Authority()
		out.Authorities = append(out.Authorities, authority{Address: a, Valid: err == nil})
		if err == nil {
			acc := t.touch(a)
			acc.Nonce++
			acc.CodeHash = crypto.Keccak256Hash(types.AddressToDelegation(auth.Address))
		}
	}
	c := &runCtx{Tx: tx, Sender: sender, GasAvail: tx.Gas() - intrinsic, ExecGas: s.ExecGas}
	var to common.Address // the recipient; none for a creation
	if tx.To() != nil {
		to = *tx.To()
		if !s.Fail && tx.Value().Sign() > 0 {
			v := uint256.MustFromBig(tx.Value())
			t.subBalance(sender, v)
			t.addBalance(to, v)
		} else {
			t.touch(to)
		}
	}
	if s.Run != nil {
		s.Run(t, c)
	} else if tx.To() != nil {
		c.Frames = append(c.Frames, topFrame(c, 0xf1, to, nil))
	}
	status := types.ReceiptStatusSuccessful
	if s.Fail {
		status = types.ReceiptStatusFailed
		c.Logs = nil
	}
	b.cumGas += gasUsed
	r := &types.Receipt{Type: tx.Type(), Status: status, CumulativeGasUsed: b.cumGas, GasUsed: gasUsed, Logs: c.Logs,
		TxHash: tx.Hash(), TransactionIndex: uint(len(b.txns))}
	r.Bloom = types.CreateBloom(r)
	out.Receipt, out.Frames, out.Accesses = r, c.Frames, t.finish()
	b.txns = append(b.txns, out)
	return out
}

// topFrame is the depth-0 frame of a transaction.
func topFrame(c *runCtx, opcode byte, target common.Address, ret []byte) callFrame {
	return callFrame{Caller: c.Sender, Target: target, Opcode: opcode, Value: *uint256.MustFromBig(c.Tx.Value()),
		Gas: c.GasAvail, GasUsed: c.ExecGas, Input: c.Tx.Data(), Return: ret}
}

func word(b []byte) common.Hash { return common.BytesToHash(b) }

func balanceKey(owner common.Address) common.Hash {
	return crypto.Keccak256Hash(word(owner[:]).Bytes(), word([]byte{tokenBalanceSlot}).Bytes())
}

func transferCall(to common.Address, amount *uint256.Int) []byte {
	b := slices.Clone(transferSelector)
	b = append(b, word(to[:]).Bytes()...)
	return append(b, amount.PaddedBytes(32)...)
}

func tokens(n uint64) *uint256.Int { return new(uint256.Int).Mul(uint256.NewInt(n), ether) }

func eth(milli uint64) *uint256.Int {
	return new(uint256.Int).Div(new(uint256.Int).Mul(uint256.NewInt(milli), ether), uint256.NewInt(1000))
}

// tokenTransfer runs an ERC-20 transfer(to, amount) from the sender; with
// lock it also takes a transient reentrancy lock (EIP-1153).
func tokenTransfer(to common.Address, amount *uint256.Int, lock, fail bool) func(t *tracker, c *runCtx) {
	return func(t *tracker, c *runCtx) {
		from := c.Sender
		if lock {
			t.tstore(token, word([]byte{tokenLockSlot}), word([]byte{1}))
		}
		fromBal := new(uint256.Int).SetBytes(t.sload(token, balanceKey(from)).Bytes())
		if fail {
			// Revert with Error("insufficient balance").
			ret := append(crypto.Keccak256([]byte("Error(string)"))[:4], word([]byte{0x20}).Bytes()...)
			ret = append(ret, word([]byte{20}).Bytes()...)
			ret = append(ret, common.RightPadBytes([]byte("insufficient balance"), 32)...)
			f := topFrame(c, 0xf1, token, ret)
			f.Status = 2 // EVMC_REVERT
			c.Frames = append(c.Frames, f)
			return
		}
		toBal := new(uint256.Int).SetBytes(t.sload(token, balanceKey(to)).Bytes())
		fromBal.Sub(fromBal, amount)
		toBal.Add(toBal, amount)
		t.sstore(token, balanceKey(from), fromBal.Bytes32())
		t.sstore(token, balanceKey(to), toBal.Bytes32())
		if lock {
			t.tstore(token, word([]byte{tokenLockSlot}), common.Hash{})
		}
		c.Logs = append(c.Logs, &types.Log{Address: token,
			Topics: []common.Hash{transferTopic, word(from[:]), word(to[:])}, Data: amount.PaddedBytes(32)})
		c.Frames = append(c.Frames, topFrame(c, 0xf1, token, word([]byte{1}).Bytes()))
	}
}

func (b *chainBuilder) nonce(a common.Address) uint64 { return b.w.get(a).Nonce }

func genesis() world {
	w := world{}
	for a, n := range map[common.Address]uint64{alice: 1000, bob: 100, carol: 50, dave: 10, erin: 20, frank: 5} {
		w.get(a).Balance.Mul(uint256.NewInt(n), ether)
	}
	for a, code := range map[common.Address][]byte{batcher: batcherCode, params.HistoryStorageAddress: params.HistoryStorageCode} {
		acc := w.get(a)
		acc.Nonce, acc.CodeHash = 1, crypto.Keccak256Hash(code)
	}
	return w
}

// Fee parameters of the script's transactions.
var (
	feeCap   = uint256.NewInt(200 * gwei)
	tipCap   = uint256.NewInt(2 * gwei)
	gasPrice = big.NewInt(102 * gwei)
)

func blobHash(i int) common.Hash {
	h := sha256.Sum256([]byte(fmt.Sprintf("monadgo/events demo blob %d", i)))
	h[0] = 0x01 // KZG versioned hash
	return h
}

// buildDemo runs the whole script.
func buildDemo() *demo {
	d := &demo{}
	parentHash := crypto.Keccak256Hash([]byte("monadgo/events demo parent block"))
	parentID := crypto.Keccak256Hash([]byte("monadgo/events demo parent proposal"))
	w0 := genesis()

	// propose executes a block on a copy of the parent state; round offset r
	// counts from firstRound and also spaces the proposal times (400 ms).
	propose := func(parent world, parentHash common.Hash, number uint64, r uint64, script func(b *chainBuilder)) (*proposal, world) {
		w := parent.clone()
		b := &chainBuilder{w: w, num: number}
		p := &proposal{Round: firstRound + r, Epoch: demoEpoch, ProposalNanos: (baseTime*1000 + r*400 + 7) * 1_000_000}
		p.ID = crypto.Keccak256Hash([]byte("monadgo/events demo proposal"), binary.BigEndian.AppendUint64(nil, number), binary.BigEndian.AppendUint64(nil, p.Round))
		copy(p.Author[:], crypto.CompressPubkey(&validators[p.Round%uint64(len(validators))].PublicKey))

		// Prologue: the EIP-2935 system call stores the parent hash.
		pro := newTracker(w)
		pro.touch(params.HistoryStorageAddress)
		pro.sstore(params.HistoryStorageAddress, word(binary.BigEndian.AppendUint64(nil, (number-1)%params.HistoryServeWindow)), parentHash)
		p.Prologue = pro.finish()

		script(b)
		p.Txns = b.txns

		// Epilogue: the proposer's beneficiary collects the priority fees.
		epi := newTracker(w)
		epi.addBalance(beneficiary, &b.tips)
		p.Epilogue = epi.finish()

		var txs types.Transactions
		var rs types.Receipts
		for _, t := range b.txns {
			txs, rs = append(txs, t.Tx), append(rs, t.Receipt)
		}
		zero, zeroHash := uint64(0), common.Hash{}
		withdrawals := types.EmptyWithdrawalsHash
		p.Header = &types.Header{
			ParentHash:  parentHash,
			UncleHash:   types.EmptyUncleHash,
			Coinbase:    beneficiary,
			Root:        w.root(),
			TxHash:      types.DeriveSha(txs, trie.NewStackTrie(nil)),
			ReceiptHash: types.DeriveSha(rs, trie.NewStackTrie(nil)),
			Bloom:       types.MergeBloom(rs),
			Difficulty:  new(big.Int),
			Number:      new(big.Int).SetUint64(number),
			GasLimit:    blockGas,
			GasUsed:     b.cumGas,
			Time:        p.ProposalNanos / 1_000_000_000,
			Extra:       []byte{},
			MixDigest:   crypto.Keccak256Hash([]byte("monadgo/events demo randao"), p.ID[:]),
			BaseFee:     big.NewInt(baseFeeWei),

			WithdrawalsHash:  &withdrawals,
			BlobGasUsed:      &zero,
			ExcessBlobGas:    &zero,
			ParentBeaconRoot: &zeroHash,
			RequestsHash:     &zeroHash,
		}
		d.Proposals = append(d.Proposals, p)
		return p, w
	}
	qc := func(id common.Hash, number, round uint64) {
		d.Steps = append(d.Steps, step{Kind: stepQC, ID: id, Number: number, Round: round, Epoch: demoEpoch})
	}
	qcOf := func(p *proposal) {
		d.Steps = append(d.Steps, step{Kind: stepQC, Block: p, ID: p.ID, Number: p.Number(), Round: p.Round, Epoch: p.Epoch})
	}
	start := func(p *proposal) {
		d.Steps = append(d.Steps, step{Kind: stepStart, Block: p, ID: p.ID, Number: p.Number()})
	}
	finalized := func(p *proposal) {
		d.Steps = append(d.Steps, step{Kind: stepFinalized, Block: p, ID: p.ID, Number: p.Number()})
	}
	verified := func(n uint64) { d.Steps = append(d.Steps, step{Kind: stepVerified, Number: n}) }

	// Block A (N): a pre-EIP-155 legacy transfer, the token deployment, an
	// EIP-155 legacy transfer and an EIP-2930 token transfer.
	a, wa := propose(w0, parentHash, firstNumber, 0, func(b *chainBuilder) {
		b.add(txnSpec{Key: keyAlice, Signer: types.HomesteadSigner{}, Data: &types.LegacyTx{
			Nonce: b.nonce(alice), GasPrice: gasPrice, Gas: 21000, To: &bob, Value: eth(1000).ToBig()}})
		b.add(txnSpec{Key: keyAlice, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(alice),
			GasTipCap: tipCap.ToBig(), GasFeeCap: feeCap.ToBig(), Gas: 600_000, Data: tokenInit}, ExecGas: 181_214,
			Run: func(t *tracker, c *runCtx) {
				acc := t.touch(token)
				acc.Nonce, acc.CodeHash = 1, crypto.Keccak256Hash(tokenRuntime)
				supply := tokens(1_000_000)
				t.sstore(token, word([]byte{tokenSupplySlot}), supply.Bytes32())
				t.sstore(token, balanceKey(c.Sender), supply.Bytes32())
				c.Logs = append(c.Logs, &types.Log{Address: token,
					Topics: []common.Hash{transferTopic, {}, word(c.Sender[:])}, Data: supply.PaddedBytes(32)})
				c.Frames = append(c.Frames, topFrame(c, 0xf0, token, tokenRuntime))
			}})
		b.add(txnSpec{Key: keyBob, Signer: types.NewEIP155Signer(chainIDBig), Data: &types.LegacyTx{
			Nonce: b.nonce(bob), GasPrice: gasPrice, Gas: 21000, To: &carol, Value: eth(250).ToBig()}})
		b.add(txnSpec{Key: keyAlice, Data: &types.AccessListTx{ChainID: chainIDBig, Nonce: b.nonce(alice), GasPrice: gasPrice,
			Gas: 80_000, To: &token, Data: transferCall(bob, tokens(500)),
			AccessList: types.AccessList{{Address: token, StorageKeys: []common.Hash{balanceKey(alice), balanceKey(bob)}}}},
			ExecGas: 25_310, Run: tokenTransfer(bob, tokens(500), false, false)})
	})

	// Block B (N+1): EIP-1559 token transfer, an EIP-7702 set-code
	// transaction with two authorizations, an EIP-4844 blob transaction and
	// a transaction that reverts.
	bb, wb := propose(wa, a.Header.Hash(), firstNumber+1, 1, func(b *chainBuilder) {
		b.add(txnSpec{Key: keyBob, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(bob), GasTipCap: tipCap.ToBig(),
			GasFeeCap: feeCap.ToBig(), Gas: 90_000, To: &token, Data: transferCall(carol, tokens(100))},
			ExecGas: 29_612, Run: tokenTransfer(carol, tokens(100), false, false)})
		authDave, err := types.SignSetCode(keyDave, types.SetCodeAuthorization{ChainID: *chainIDU, Address: batcher, Nonce: b.nonce(dave)})
		if err != nil {
			panic(err)
		}
		authFrank, err := types.SignSetCode(keyFrank, types.SetCodeAuthorization{Address: batcher, Nonce: b.nonce(frank)}) // any chain
		if err != nil {
			panic(err)
		}
		call := append(slices.Clone(executeSelector), word(carol[:]).Bytes()...)
		call = append(call, eth(100).PaddedBytes(32)...)
		b.add(txnSpec{Key: keyErin, Data: &types.SetCodeTx{ChainID: chainIDU, Nonce: b.nonce(erin), GasTipCap: tipCap, GasFeeCap: feeCap,
			Gas: 150_000, To: dave, Data: call, AuthList: []types.SetCodeAuthorization{authDave, authFrank}},
			ExecGas: 14_207, Run: func(t *tracker, c *runCtx) {
				t.touch(batcher)
				t.subBalance(dave, eth(100))
				t.addBalance(carol, eth(100))
				c.Logs = append(c.Logs, &types.Log{Address: dave, Topics: []common.Hash{executedTopic, word(carol[:])},
					Data: eth(100).PaddedBytes(32)})
				top := topFrame(c, 0xf1, dave, nil)
				inner := callFrame{Caller: dave, Target: carol, Opcode: 0xf1, Value: *eth(100), Gas: 2300 + 9000, GasUsed: 0, Depth: 1}
				c.Frames = append(c.Frames, top, inner)
			}})
		b.add(txnSpec{Key: keyCarol, Data: &types.BlobTx{ChainID: chainIDU, Nonce: b.nonce(carol), GasTipCap: tipCap, GasFeeCap: feeCap,
			Gas: 21000, To: frank, Value: uint256.NewInt(0), BlobFeeCap: uint256.NewInt(3 * gwei),
			BlobHashes: []common.Hash{blobHash(0), blobHash(1)}}})
		b.add(txnSpec{Key: keyErin, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(erin), GasTipCap: tipCap.ToBig(),
			GasFeeCap: feeCap.ToBig(), Gas: 60_000, To: &token, Data: transferCall(bob, tokens(1))},
			ExecGas: 2_781, Fail: true, Run: tokenTransfer(bob, tokens(1), false, true)})
	})

	// Block N+2, first proposal (round +2): abandoned when the second
	// proposal for the same number is finalized (spec §9.2).
	cTxns := func(b *chainBuilder) {
		b.add(txnSpec{Key: keyAlice, Signer: types.NewEIP155Signer(chainIDBig), Data: &types.LegacyTx{
			Nonce: b.nonce(alice), GasPrice: gasPrice, Gas: 21000, To: &dave, Value: eth(2000).ToBig()}})
		b.add(txnSpec{Key: keyCarol, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(carol), GasTipCap: tipCap.ToBig(),
			GasFeeCap: feeCap.ToBig(), Gas: 90_000, To: &token, Data: transferCall(alice, tokens(10))},
			ExecGas: 12_512, Run: tokenTransfer(alice, tokens(10), false, false)})
	}
	c1, _ := propose(wb, bb.Header.Hash(), firstNumber+2, 2, cTxns)

	// Round +2 times out; the round +3 proposal carries the same QC (for
	// block N+1, already voted: readers ignore the repeat), re-proposes the
	// two transactions and adds three more.
	c2, wc := propose(wb, bb.Header.Hash(), firstNumber+2, 3, func(b *chainBuilder) {
		cTxns(b)
		b.add(txnSpec{Key: keyBob, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(bob), GasTipCap: tipCap.ToBig(),
			GasFeeCap: feeCap.ToBig(), Gas: 90_000, To: &token, Data: transferCall(dave, tokens(5)),
			AccessList: types.AccessList{{Address: token, StorageKeys: []common.Hash{balanceKey(bob), balanceKey(dave)}}, {Address: carol}}},
			ExecGas: 22_987, Run: tokenTransfer(dave, tokens(5), false, false)})
		b.add(txnSpec{Key: keyErin, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(erin), GasTipCap: tipCap.ToBig(),
			GasFeeCap: feeCap.ToBig(), Gas: 30_000, To: &alice, Value: eth(1500).ToBig(), Data: []byte("gm from erin")}})
		b.add(txnSpec{Key: keyAlice, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(alice), GasTipCap: tipCap.ToBig(),
			GasFeeCap: feeCap.ToBig(), Gas: 90_000, To: &token, Data: transferCall(erin, tokens(42))},
			ExecGas: 31_088, Run: tokenTransfer(erin, tokens(42), true, false)})
	})

	// Block N+3: dave (now delegated) sends a token transfer himself, an
	// EIP-155 legacy transfer and an EIP-2930 transfer to an EOA.
	d3, wd := propose(wc, c2.Header.Hash(), firstNumber+3, 4, func(b *chainBuilder) {
		b.add(txnSpec{Key: keyDave, Data: &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: b.nonce(dave), GasTipCap: tipCap.ToBig(),
			GasFeeCap: feeCap.ToBig(), Gas: 70_000, To: &token, Data: transferCall(bob, tokens(2))},
			ExecGas: 12_512, Run: tokenTransfer(bob, tokens(2), false, false)})
		b.add(txnSpec{Key: keyFrank, Signer: types.NewEIP155Signer(chainIDBig), Data: &types.LegacyTx{
			Nonce: b.nonce(frank), GasPrice: gasPrice, Gas: 25_000, To: &erin, Value: eth(125).ToBig()}})
		b.add(txnSpec{Key: keyErin, Data: &types.AccessListTx{ChainID: chainIDBig, Nonce: b.nonce(erin), GasPrice: gasPrice,
			Gas: 30_000, To: &bob, Value: eth(1).ToBig(), AccessList: types.AccessList{{Address: bob}}}})
	})

	// Block N+4: empty.
	e, _ := propose(wd, d3.Header.Hash(), firstNumber+4, 5, func(*chainBuilder) {})

	// The consensus script (spec §7.3, live node): BLOCK_QC for the parent
	// precedes each BLOCK_START; finalizations and verifications come
	// between blocks.
	qc(parentID, firstNumber-1, firstRound-1)
	start(a)
	qcOf(a)
	start(bb)
	qcOf(bb)
	finalized(a)
	start(c1)
	qcOf(bb) // repeated by the round +3 proposal
	start(c2)
	qcOf(c2)
	finalized(bb)
	start(d3)
	qcOf(d3)
	finalized(c2) // abandons c1
	verified(firstNumber)
	verified(firstNumber + 1)
	start(e)
	qcOf(e)
	finalized(d3)
	verified(firstNumber + 2)
	return d
}
