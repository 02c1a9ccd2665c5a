package custody

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
)

// activityOf is the normalised activity policies judge for r.
func (s *Service) activityOf(ctx context.Context, r *Request) (policy.Activity, error) {
	if r.Kind == KindCreateWallet {
		return policy.Activity{ID: r.ID, Kind: policy.WalletsCreate, Initiator: r.Initiator, Network: r.Network}, nil
	}
	var ev authn.Evidence
	if err := ev.UnmarshalBinary(r.Evidence); err != nil {
		return policy.Activity{}, fmt.Errorf("custody: evidence of %s: %w: %w", r.ID, store.ErrCorrupt, err)
	}
	w, err := s.Wallet(ctx, r.WalletID)
	if err != nil {
		return policy.Activity{}, err
	}
	return signActivity(&ev, r.Kind, w, r.Activity), nil
}

// signActivity is the activity of a signature request on w, as custody
// submits it and as a signer's gate re-checks it: the two must agree.
func signActivity(ev *authn.Evidence, kind RequestKind, w *Wallet, act *chains.Activity) policy.Activity {
	a := policy.Activity{ID: activityID(ev), Kind: policy.WalletsSign, Initiator: ev.Principal, WalletID: w.ID, WalletTags: w.Tags, Network: w.Network}
	switch kind {
	case KindTransfer:
		a.Payload = policy.PayloadTransfer
	case KindSignTransaction:
		a.Payload = policy.PayloadTransaction
	default:
		a.Payload = policy.PayloadHash
	}
	if act != nil && act.Kind == chains.KindTransfer {
		a.Asset, a.Amount, a.Recipient = act.Asset.Symbol, act.Amount, act.Recipient
	}
	return a
}

// activityID names the activity a signature request submits to the
// policies: the challenge of the initiator's signed action, so that a
// signer's gate names it the same way from the evidence alone, and a
// coordinator cannot choose which recorded activity Recheck leaves out of
// the velocity windows, nor pair an approval with another user action.
func activityID(ev *authn.Evidence) string {
	return "act_" + hex.EncodeToString(ev.Binding.Challenge())
}

// execute does what an approved request asks: a key generation, or the
// signatures.
func (s *Service) execute(ctx context.Context, r *Request) error {
	if r.Kind == KindCreateWallet {
		return s.generate(ctx, r)
	}
	w, err := s.Wallet(ctx, r.WalletID)
	if err != nil {
		return err
	}
	var rebuilt *chains.Unsigned
	if r.Kind == KindTransfer {
		if rebuilt, err = s.rebuild(ctx, r, w); err != nil {
			return err
		}
	}
	// Signing is stored before the first signature is asked for, so a
	// restart never asks twice.
	if err := s.step(ctx, r, transition{status: StatusSigning, kind: "request.signing", event: "request.signing"}, func(n *Request) {
		if rebuilt != nil {
			act := rebuilt.Activity
			n.Activity, n.Unsigned, n.Digests = &act, rebuilt.Payload, rebuilt.Digests
		}
	}); err != nil {
		return err
	}
	evidence, err := s.signingEvidence(ctx, r, w)
	if err != nil {
		return s.fail(ctx, r, err)
	}
	sigs := make([][]byte, 0, len(r.Digests))
	var quorum []string
	for _, d := range r.Digests {
		req := mpc.SignRequest{KeyID: w.KeyID, Message: d.Bytes, Evidence: evidence}
		if d.Taproot != nil {
			req.Taproot = &frost.Taproot{MerkleRoot: d.Taproot.MerkleRoot}
		}
		sig, err := s.cfg.Coordinator.Sign(ctx, req)
		if err != nil {
			return s.fail(ctx, r, fmt.Errorf("signing: %w", err))
		}
		sigs = append(sigs, sig.Bytes)
		for _, n := range sig.Signers {
			quorum = append(quorum, string(n))
		}
	}
	chain, err := s.cfg.Chains.Chain(r.Network)
	if err != nil {
		return s.fail(ctx, r, err)
	}
	var result []byte
	var txID string
	next, event := StatusSigned, "request.signed"
	switch r.Kind {
	case KindSignMessage:
		var body SignMessageRequest
		if err := json.Unmarshal(r.Body, &body); err != nil {
			return s.fail(ctx, r, err)
		}
		if result, err = attachMessage(chain, w, body, sigs[0]); err != nil {
			return s.fail(ctx, r, err)
		}
		next, event = StatusCompleted, "request.completed"
	default:
		tx, err := chain.Attach(&chains.Unsigned{Network: r.Network, Key: w.PublicKey, Payload: r.Unsigned, Digests: r.Digests}, sigs)
		if err != nil {
			return s.fail(ctx, r, err)
		}
		result, txID = tx.Raw, tx.ID
		if r.Kind == KindSignTransaction && !s.wantsBroadcast(r) {
			next, event = StatusCompleted, "request.completed"
		}
	}
	return s.step(ctx, r, transition{status: next, kind: "request.signed", event: event, details: map[string]any{"signers": quorum, "txId": txID}},
		func(n *Request) { n.Signatures, n.Result, n.TxID = sigs, result, txID })
}

// rebuild builds a transfer's transaction again, just before it is signed:
// the one built at submission may have waited for an approval while other
// transfers of the wallet used its nonce (EVM), spent its coins (Bitcoin) or
// let its blockhash expire (Solana), and would never be accepted. The body
// the initiator signed fixes the recipient, the asset and the amount; the
// rebuilt transaction must move exactly what the policies judged. A refusal
// of the chain fails the request; any other error leaves it Approved, for
// Poll to try again.
func (s *Service) rebuild(ctx context.Context, r *Request, w *Wallet) (*chains.Unsigned, error) {
	var body TransferRequest
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return nil, s.fail(ctx, r, fmt.Errorf("%w: stored body: %w", store.ErrCorrupt, err))
	}
	chain, err := s.cfg.Chains.Chain(r.Network)
	if err != nil {
		return nil, s.fail(ctx, r, err)
	}
	u, err := chain.Transfer(ctx, chains.Transfer{From: w.PublicKey, To: body.To, Asset: body.Asset, Amount: body.Amount})
	switch {
	case err == nil:
	case errors.Is(err, chains.ErrInsufficientFunds), errors.Is(err, chains.ErrInvalidAddress), errors.Is(err, chains.ErrInvalidAmount),
		errors.Is(err, chains.ErrUnknownAsset), errors.Is(err, chains.ErrUnsupported), errors.Is(err, chains.ErrInvalidKey),
		errors.Is(err, chains.ErrUnknownNetwork):
		return nil, s.fail(ctx, r, fmt.Errorf("building the transaction: %w", err))
	default:
		return nil, fmt.Errorf("custody: building the transaction of %s: %w", r.ID, err)
	}
	if was, now := r.Activity, &u.Activity; was == nil || was.Kind != now.Kind || was.Recipient != now.Recipient ||
		was.Asset.Symbol != now.Asset.Symbol || was.Asset.ID != now.Asset.ID ||
		was.Amount == nil || now.Amount == nil || was.Amount.Cmp(now.Amount) != 0 {
		return nil, s.fail(ctx, r, fmt.Errorf("%w: the transaction built again moves something else than the one judged", chains.ErrMismatch))
	}
	return u, nil
}

func (s *Service) wantsBroadcast(r *Request) bool {
	if r.Kind == KindTransfer {
		return true
	}
	var body SignTransactionRequest
	return json.Unmarshal(r.Body, &body) == nil && body.Broadcast
}

// attachMessage turns a message signature into the chain's presentation.
func attachMessage(chain chains.Chain, w *Wallet, body SignMessageRequest, sig []byte) ([]byte, error) {
	if body.Format == FormatHash {
		return sig, nil
	}
	m, ok := chain.(chains.Messages)
	if !ok {
		return nil, fmt.Errorf("%w: %s signs no messages", chains.ErrUnsupported, w.Network)
	}
	u, err := m.PrepareMessage(w.PublicKey, body.Format, body.Data)
	if err != nil {
		return nil, err
	}
	return m.AttachMessage(u, sig)
}

// broadcast sends a signed transaction. Sending it again after a restart is
// harmless: it is the same transaction.
func (s *Service) broadcast(ctx context.Context, r *Request) error {
	chain, err := s.cfg.Chains.Chain(r.Network)
	if err != nil {
		return err
	}
	if err := chain.Broadcast(ctx, &chains.Signed{Network: r.Network, ID: r.TxID, Raw: r.Result}); err != nil {
		s.log.Warn("custody: broadcast failed; it will be retried", "request", r.ID, "err", err)
		return fmt.Errorf("custody: broadcasting %s: %w", r.ID, err)
	}
	return s.step(ctx, r, transition{status: StatusBroadcasted, kind: "request.broadcasted", event: "request.broadcasted", details: map[string]any{"txId": r.TxID}}, nil)
}

// fail records a request as Failed with cause, and returns cause.
func (s *Service) fail(ctx context.Context, r *Request, cause error) error {
	if err := s.step(ctx, r, transition{status: StatusFailed, kind: "request.failed", event: "request.failed", reasons: []string{cause.Error()}}, nil); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// generate runs the DKG of a new wallet's key and stores the wallet.
func (s *Service) generate(ctx context.Context, r *Request) error {
	var body CreateWalletRequest
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return s.fail(ctx, r, err)
	}
	chain, err := s.cfg.Chains.Chain(body.Network)
	if err != nil {
		return s.fail(ctx, r, err)
	}
	scheme, err := schemeFor(chain.Network(), body.Scheme)
	if err != nil {
		return s.fail(ctx, r, err)
	}
	key, err := s.cfg.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Scheme(scheme), Threshold: s.cfg.Threshold, Signers: s.cfg.Signers})
	if err != nil {
		return s.fail(ctx, r, fmt.Errorf("key generation: %w", err))
	}
	pub := chains.PublicKey{Scheme: scheme, Bytes: key.PublicKey}
	addr, err := chain.Address(pub)
	if err != nil {
		return s.fail(ctx, r, err)
	}
	w := &Wallet{
		ID: r.WalletID, Name: body.Name, Network: body.Network, Tags: body.Tags, Address: addr, PublicKey: pub,
		KeyID: key.ID, ExternalID: body.ExternalID, CreatedBy: r.Initiator, CreatedAt: s.now().UTC(),
	}
	// The wallet and the request's completion commit together: a restart
	// before this point makes a new key, and no address was ever shown.
	return s.step(ctx, r, transition{status: StatusCompleted, kind: "wallet.created", event: "wallet.created",
		details: map[string]any{"walletId": w.ID, "address": addr, "keyId": key.ID, "scheme": scheme},
		write:   func(tx store.Tx) error { return putJSON(tx, bucketWallets, w.ID, w) }}, nil)
}

// schemeFor is the key a network's wallets use: the one asked for, if the
// family takes it, or the family's default.
func schemeFor(n chains.Network, want chains.Scheme) (chains.Scheme, error) {
	var allowed []chains.Scheme
	switch n.Family {
	case chains.EVM:
		allowed = []chains.Scheme{chains.ECDSA}
	case chains.Bitcoin:
		allowed = []chains.Scheme{chains.ECDSA, chains.BIP340}
	case chains.Solana:
		allowed = []chains.Scheme{chains.Ed25519}
	default:
		return "", fmt.Errorf("%w: family %q", chains.ErrUnsupported, n.Family)
	}
	if want == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if a == want {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: %s wallets cannot use %s keys", ErrInvalid, n.Name, want)
}
