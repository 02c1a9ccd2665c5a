package solana

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"

	bin "github.com/gagliardetto/binary"
	"github.com/gagliardetto/solana-go"

	"github.com/cairn-mpc/cairn/chains"
)

// Options adjust how a transfer is built; the zero value asks the client for
// the blockhash and balances and pays no priority fee.
type Options struct {
	// CreateRecipientAccount lets a token transfer create the recipient's
	// associated token account (the wallet pays its rent deposit). Without
	// it, a token transfer to a recipient with no account is refused.
	CreateRecipientAccount bool
	// ComputeUnitPrice, in micro-lamports per compute unit, adds a
	// priority fee; ComputeUnitLimit caps the units (required with a
	// price).
	ComputeUnitPrice uint64
	ComputeUnitLimit uint32
	// RecentBlockhash, if set, is used instead of the client's; with it
	// and no client the transfer is built offline, unchecked against any
	// balance.
	RecentBlockhash solana.Hash
}

// Fees and limits of the runtime.
const (
	// LamportsPerSignature is the base fee of each signature.
	LamportsPerSignature = 5000
	// RentExemptMinimum is the least balance an account without data may
	// hold (890,880 lamports): a transfer may not leave the wallet, or
	// create a recipient, below it.
	RentExemptMinimum = 890_880
	// defaultComputeUnits is the runtime's per-instruction compute limit
	// when a message sets none.
	defaultComputeUnits = 200_000
)

// Instruction encodings this adapter builds and decodes.
const (
	systemTransfer       = 2  // System Program: u32 LE index, then u64 lamports
	tokenTransferChecked = 12 // Token program: u8 index, u64 amount, u8 decimals
	ataCreateIdempotent  = 1  // Associated Token Account program: u8 index
	budgetSetUnitLimit   = 2  // Compute Budget: u8 index, u32 units
	budgetSetUnitPrice   = 3  // Compute Budget: u8 index, u64 micro-lamports
)

// Transfer implements chains.Chain with the zero Options.
func (c *Chain) Transfer(ctx context.Context, t chains.Transfer) (*chains.Unsigned, error) {
	return c.BuildTransfer(ctx, t, Options{})
}

// BuildTransfer builds an unsigned SOL or SPL token transfer. With a
// client it takes a recent blockhash and checks that the wallet can pay the
// amount and the fee without falling below the rent-exempt minimum, that a
// new SOL recipient receives at least that minimum, and that a token
// recipient has an account unless o.CreateRecipientAccount.
func (c *Chain) BuildTransfer(ctx context.Context, t chains.Transfer, o Options) (*chains.Unsigned, error) {
	from, err := walletKey(t.From)
	if err != nil {
		return nil, err
	}
	to, err := ParseAddress(c.net.Name, t.To)
	if err != nil {
		return nil, err
	}
	if err := chains.CheckAmount(t.Amount); err != nil {
		return nil, err
	}
	if !t.Amount.IsUint64() {
		return nil, fmt.Errorf("%w: %v does not fit in 64 bits", chains.ErrInvalidAmount, t.Amount)
	}
	amount := t.Amount.Uint64()
	asset, mint, err := c.asset(t.Asset)
	if err != nil {
		return nil, err
	}
	if to == from {
		return nil, &chains.AddressError{Network: c.net.Name, Address: t.To, Reason: "the wallet itself"}
	}
	if o.ComputeUnitPrice > 0 && o.ComputeUnitLimit == 0 {
		return nil, fmt.Errorf("solana: a compute-unit price needs a compute-unit limit")
	}

	var ixs []solana.Instruction
	if o.ComputeUnitLimit > 0 {
		ixs = append(ixs, budgetInstruction(budgetSetUnitLimit, uint64(o.ComputeUnitLimit), 4))
	}
	if o.ComputeUnitPrice > 0 {
		ixs = append(ixs, budgetInstruction(budgetSetUnitPrice, o.ComputeUnitPrice, 8))
	}
	var source, dest solana.PublicKey
	if asset.IsNative() {
		data := make([]byte, 12)
		binary.LittleEndian.PutUint32(data, systemTransfer)
		binary.LittleEndian.PutUint64(data[4:], amount)
		ixs = append(ixs, &solana.GenericInstruction{ProgID: solana.SystemProgramID, DataBytes: data, AccountValues: solana.AccountMetaSlice{
			solana.Meta(from).SIGNER().WRITE(), solana.Meta(to).WRITE(),
		}})
	} else {
		if source, _, err = solana.FindAssociatedTokenAddress(from, mint); err != nil {
			return nil, fmt.Errorf("solana: token account of %s: %w", from, err)
		}
		if dest, _, err = solana.FindAssociatedTokenAddress(to, mint); err != nil {
			return nil, fmt.Errorf("solana: token account of %s: %w", to, err)
		}
		ixs = append(ixs, &solana.GenericInstruction{ProgID: solana.SPLAssociatedTokenAccountProgramID, DataBytes: []byte{ataCreateIdempotent}, AccountValues: solana.AccountMetaSlice{
			solana.Meta(from).SIGNER().WRITE(), solana.Meta(dest).WRITE(), solana.Meta(to), solana.Meta(mint),
			solana.Meta(solana.SystemProgramID), solana.Meta(solana.TokenProgramID),
		}})
		data := make([]byte, 10)
		data[0] = tokenTransferChecked
		binary.LittleEndian.PutUint64(data[1:], amount)
		data[9] = asset.Decimals
		ixs = append(ixs, &solana.GenericInstruction{ProgID: solana.TokenProgramID, DataBytes: data, AccountValues: solana.AccountMetaSlice{
			solana.Meta(source).WRITE(), solana.Meta(mint), solana.Meta(dest).WRITE(), solana.Meta(from).SIGNER(),
		}})
	}

	blockhash := o.RecentBlockhash
	if c.client == nil && blockhash.IsZero() {
		return nil, fmt.Errorf("solana: no blockhash given: %w", chains.ErrNoClient)
	}
	if c.client != nil {
		if blockhash.IsZero() {
			if blockhash, err = c.client.LatestBlockhash(ctx); err != nil {
				return nil, fmt.Errorf("solana: blockhash: %w", err)
			}
		}
		fee := feeOf(o.ComputeUnitPrice, o.ComputeUnitLimit)
		if err := c.checkFunds(ctx, from, to, source, dest, asset, amount, fee, o.CreateRecipientAccount); err != nil {
			return nil, err
		}
	}
	tx, err := solana.NewTransaction(ixs, blockhash, solana.TransactionPayer(from))
	if err != nil {
		return nil, fmt.Errorf("solana: compiling: %w", err)
	}
	msg, err := tx.Message.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("solana: encoding: %w", err)
	}
	return c.Decode(t.From, msg)
}

func budgetInstruction(index byte, v uint64, size int) solana.Instruction {
	data := make([]byte, 1+size)
	data[0] = index
	if size == 4 {
		binary.LittleEndian.PutUint32(data[1:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(data[1:], v)
	}
	return &solana.GenericInstruction{ProgID: solana.ComputeBudget, DataBytes: data}
}

// feeOf is the fee of a one-signature message with the given compute-unit
// price and limit.
func feeOf(price uint64, limit uint32) *big.Int {
	f := new(big.Int).Mul(new(big.Int).SetUint64(price), new(big.Int).SetUint64(uint64(limit)))
	f.Add(f, big.NewInt(999_999))
	f.Quo(f, big.NewInt(1_000_000))
	return f.Add(f, big.NewInt(LamportsPerSignature))
}

func (c *Chain) checkFunds(ctx context.Context, from, to, source, dest solana.PublicKey, asset chains.Asset, amount uint64, fee *big.Int, create bool) error {
	sol, err := c.client.Balance(ctx, from)
	if err != nil {
		return fmt.Errorf("solana: balance of %s: %w", from, err)
	}
	have := new(big.Int).SetUint64(sol)
	need := new(big.Int).Set(fee)
	if asset.IsNative() {
		need.Add(need, new(big.Int).SetUint64(amount))
		got, err := c.client.Balance(ctx, to)
		if err != nil {
			return fmt.Errorf("solana: balance of %s: %w", to, err)
		}
		if got == 0 && amount < RentExemptMinimum {
			return fmt.Errorf("%w: %d lamports cannot open the account %s: it needs at least %d", chains.ErrInvalidAmount, amount, to, RentExemptMinimum)
		}
	} else {
		held, ok, err := c.client.TokenBalance(ctx, source)
		if err != nil {
			return fmt.Errorf("solana: token balance of %s: %w", from, err)
		}
		if !ok || held < amount {
			return &chains.InsufficientFundsError{Asset: asset.Symbol, Need: new(big.Int).SetUint64(amount), Have: new(big.Int).SetUint64(held)}
		}
		_, exists, err := c.client.TokenBalance(ctx, dest)
		if err != nil {
			return fmt.Errorf("solana: token account of %s: %w", to, err)
		}
		if !exists {
			if !create {
				return fmt.Errorf("%w: %s has no %s account; set CreateRecipientAccount to open one", chains.ErrUnsupported, to, asset.Symbol)
			}
			need.Add(need, big.NewInt(tokenAccountRent))
		}
	}
	if have.Cmp(need) < 0 {
		return &chains.InsufficientFundsError{Asset: c.net.Native.Symbol, Need: need, Have: have}
	}
	if left := new(big.Int).Sub(have, need); left.Sign() > 0 && left.Cmp(big.NewInt(RentExemptMinimum)) < 0 {
		return &chains.InsufficientFundsError{Asset: c.net.Native.Symbol, Need: new(big.Int).Add(need, big.NewInt(RentExemptMinimum)), Have: have}
	}
	return nil
}

// tokenAccountRent is the rent deposit of a 165-byte SPL token account.
const tokenAccountRent = 2_039_280

// Decode implements chains.Chain. The payload is a legacy message that
// key alone signs and pays for, made of optional compute-budget
// instructions and either one System Program transfer from the wallet, or
// an idempotent associated-token-account create for the recipient followed
// by a TransferChecked of a configured token from the wallet's associated
// account to the recipient's. Anything else is chains.ErrUnsupported.
func (c *Chain) Decode(key chains.PublicKey, payload []byte) (*chains.Unsigned, error) {
	u, _, err := c.decode(key, payload)
	return u, err
}

// decode is Decode, also returning the parsed message for Attach.
func (c *Chain) decode(key chains.PublicKey, payload []byte) (*chains.Unsigned, *solana.Message, error) {
	wallet, err := walletKey(key)
	if err != nil {
		return nil, nil, err
	}
	msg, err := parseMessage(payload)
	if err != nil {
		return nil, nil, err
	}
	h := msg.Header
	keys := msg.AccountKeys
	if h.NumRequiredSignatures != 1 || h.NumReadonlySignedAccounts != 0 || keys[0] != wallet {
		return nil, nil, fmt.Errorf("%w: the wallet must be the only signer and the fee payer", chains.ErrUnsupported)
	}
	seen := make(map[solana.PublicKey]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			return nil, nil, fmt.Errorf("%w: account %s listed twice", chains.ErrInvalidPayload, k)
		}
		seen[k] = true
	}
	writable := func(i uint16) bool {
		return i == 0 || (i >= uint16(h.NumRequiredSignatures) && int(i) < len(keys)-int(h.NumReadonlyUnsignedAccounts))
	}

	type ix struct {
		program solana.PublicKey
		accts   []solana.PublicKey
		w       []bool
		data    []byte
	}
	var rest []ix
	var price uint64
	var limit uint32
	var havePrice, haveLimit bool
	for n, ci := range msg.Instructions {
		if int(ci.ProgramIDIndex) >= len(keys) || ci.ProgramIDIndex == 0 {
			return nil, nil, fmt.Errorf("%w: instruction %d names no program", chains.ErrInvalidPayload, n)
		}
		x := ix{program: keys[ci.ProgramIDIndex], data: ci.Data}
		for _, a := range ci.Accounts {
			if int(a) >= len(keys) {
				return nil, nil, fmt.Errorf("%w: instruction %d names account %d of %d", chains.ErrInvalidPayload, n, a, len(keys))
			}
			x.accts = append(x.accts, keys[a])
			x.w = append(x.w, writable(a))
		}
		if x.program == solana.ComputeBudget && len(x.accts) == 0 {
			switch {
			case len(x.data) == 5 && x.data[0] == budgetSetUnitLimit && !haveLimit:
				limit, haveLimit = binary.LittleEndian.Uint32(x.data[1:]), true
				continue
			case len(x.data) == 9 && x.data[0] == budgetSetUnitPrice && !havePrice:
				price, havePrice = binary.LittleEndian.Uint64(x.data[1:]), true
				continue
			}
			return nil, nil, fmt.Errorf("%w: compute-budget instruction %d", chains.ErrUnsupported, n)
		}
		rest = append(rest, x)
	}
	if !haveLimit {
		limit = uint32(min(defaultComputeUnits*len(rest), math.MaxUint32))
	}
	act := chains.Activity{Kind: chains.KindTransfer, Network: c.net.Name, From: wallet.String(), Fee: feeOf(price, limit)}

	switch {
	case len(rest) == 1 && rest[0].program == solana.SystemProgramID:
		x := rest[0]
		if len(x.data) != 12 || binary.LittleEndian.Uint32(x.data) != systemTransfer || len(x.accts) != 2 || x.accts[0] != wallet || !x.w[1] {
			return nil, nil, fmt.Errorf("%w: a System Program instruction that is not a transfer from the wallet", chains.ErrUnsupported)
		}
		act.Asset, act.Recipient = c.net.Native, x.accts[1].String()
		act.Amount = new(big.Int).SetUint64(binary.LittleEndian.Uint64(x.data[4:]))
	case len(rest) == 2 && rest[0].program == solana.SPLAssociatedTokenAccountProgramID && rest[1].program == solana.TokenProgramID:
		create, xfer := rest[0], rest[1]
		if !bytes.Equal(create.data, []byte{ataCreateIdempotent}) || len(create.accts) != 6 || create.accts[0] != wallet ||
			create.accts[4] != solana.SystemProgramID || create.accts[5] != solana.TokenProgramID || !create.w[1] {
			return nil, nil, fmt.Errorf("%w: an associated-token-account instruction that is not an idempotent create paid by the wallet", chains.ErrUnsupported)
		}
		owner, mint := create.accts[2], create.accts[3]
		if len(xfer.data) != 10 || xfer.data[0] != tokenTransferChecked || len(xfer.accts) != 4 || xfer.accts[3] != wallet || xfer.accts[1] != mint || !xfer.w[0] || !xfer.w[2] {
			return nil, nil, fmt.Errorf("%w: a token instruction that is not TransferChecked from the wallet", chains.ErrUnsupported)
		}
		token, ok := c.tokens[mint]
		if !ok {
			return nil, nil, fmt.Errorf("%w: mint %s", chains.ErrUnknownAsset, mint)
		}
		if xfer.data[9] != token.Decimals {
			return nil, nil, fmt.Errorf("%w: transfer says %d decimals, %s has %d", chains.ErrInvalidPayload, xfer.data[9], token.Symbol, token.Decimals)
		}
		source, _, err1 := solana.FindAssociatedTokenAddress(wallet, mint)
		dest, _, err2 := solana.FindAssociatedTokenAddress(owner, mint)
		if err1 != nil || err2 != nil || xfer.accts[0] != source || xfer.accts[2] != dest || create.accts[1] != dest {
			return nil, nil, fmt.Errorf("%w: token accounts are not the associated accounts of the wallet and the recipient", chains.ErrUnsupported)
		}
		act.Asset, act.Recipient = token, owner.String()
		act.Amount = new(big.Int).SetUint64(binary.LittleEndian.Uint64(xfer.data[1:9]))
	default:
		return nil, nil, fmt.Errorf("%w: a message that is not a single SOL or token transfer", chains.ErrUnsupported)
	}
	return &chains.Unsigned{
		Network:  c.net.Name,
		Key:      chains.PublicKey{Scheme: key.Scheme, Bytes: bytes.Clone(key.Bytes)},
		Payload:  bytes.Clone(payload),
		Activity: act,
		Digests:  []chains.Digest{{Scheme: chains.Ed25519, Bytes: bytes.Clone(payload)}},
	}, msg, nil
}

// MaxMessage is the most a transaction may carry (the network's packet
// size), so no message is longer.
const MaxMessage = 1232

// parseMessage decodes a legacy message, which must be all of payload and
// in canonical form.
func parseMessage(payload []byte) (*solana.Message, error) {
	if len(payload) == 0 || len(payload) > MaxMessage {
		return nil, fmt.Errorf("%w: message of %d bytes", chains.ErrInvalidPayload, len(payload))
	}
	if payload[0]&0x80 != 0 {
		return nil, fmt.Errorf("%w: versioned messages", chains.ErrUnsupported)
	}
	var msg solana.Message
	if err := msg.UnmarshalLegacy(bin.NewBinDecoder(payload)); err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidPayload, err)
	}
	again, err := msg.MarshalLegacy()
	if err != nil || !bytes.Equal(again, payload) {
		return nil, fmt.Errorf("%w: not a canonical message", chains.ErrInvalidPayload)
	}
	if len(msg.AccountKeys) == 0 || int(msg.Header.NumRequiredSignatures) > len(msg.AccountKeys) ||
		int(msg.Header.NumReadonlyUnsignedAccounts) > len(msg.AccountKeys)-int(msg.Header.NumRequiredSignatures) {
		return nil, fmt.Errorf("%w: header does not fit the accounts", chains.ErrInvalidPayload)
	}
	return &msg, nil
}

// Attach implements chains.Chain: one 64-byte Ed25519 signature of the
// message by the wallet's key.
func (c *Chain) Attach(u *chains.Unsigned, sigs [][]byte) (*chains.Signed, error) {
	if u.Network != c.net.Name {
		return nil, fmt.Errorf("%w: transaction for %q, adapter for %q", chains.ErrMismatch, u.Network, c.net.Name)
	}
	d, msg, err := c.decode(u.Key, u.Payload)
	if err != nil {
		return nil, err
	}
	if err := chains.CheckDigests(u.Digests, d.Digests); err != nil {
		return nil, err
	}
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%w: %d signatures for one digest", chains.ErrInvalidSignature, len(sigs))
	}
	if len(sigs[0]) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: Ed25519 signature of %d bytes, want %d", chains.ErrInvalidSignature, len(sigs[0]), ed25519.SignatureSize)
	}
	// The message is the payload byte for byte (decode refuses a
	// non-canonical one) and its only signer is the wallet, so this is the
	// check tx.VerifySignatures would make.
	if !ed25519.Verify(u.Key.Bytes, u.Payload, sigs[0]) {
		return nil, fmt.Errorf("%w: the signature does not verify under the wallet's key", chains.ErrInvalidSignature)
	}
	tx := &solana.Transaction{Signatures: []solana.Signature{solana.SignatureFromBytes(sigs[0])}, Message: *msg}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("solana: encoding: %w", err)
	}
	if len(raw) > MaxMessage {
		return nil, fmt.Errorf("%w: transaction of %d bytes exceeds %d", chains.ErrUnsupported, len(raw), MaxMessage)
	}
	return &chains.Signed{Network: c.net.Name, ID: tx.Signatures[0].String(), Raw: raw}, nil
}
