package custody

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
)

// SigningEvidence travels with every signing request to every signer
// (mpc.SignRequest.Evidence), so that a signer's EvidenceGate can check for
// itself that a user asked for exactly this signature and that the policies
// allow it or its approvers approved it. It holds no secret.
type SigningEvidence struct {
	_ struct{} `cbor:",toarray"`
	// RequestID is for the signers' logs: a gate names the activity by
	// the initiator's action, never by what the coordinator writes here.
	RequestID string
	Kind      RequestKind
	WalletID  string
	// Initiator is the initiator's signed user action (authn.Evidence,
	// binary) over Body.
	Initiator []byte
	// Body is the request exactly as the initiator signed it.
	Body []byte
	// Unsigned is the chain's unsigned transaction (Transfer,
	// SignTransaction).
	Unsigned []byte
	// ApprovalID names the approval that held the request, if any.
	ApprovalID string
}

// MarshalBinary encodes e (versioned deterministic CBOR).
func (e *SigningEvidence) MarshalBinary() ([]byte, error) { return wire.Marshal((*evidenceWire)(e)) }

// evidenceWire is SigningEvidence without its methods, for the codec.
type evidenceWire SigningEvidence

// UnmarshalBinary decodes e strictly; errors wrap ErrEvidence.
func (e *SigningEvidence) UnmarshalBinary(b []byte) error {
	if err := wire.Unmarshal(b, (*evidenceWire)(e)); err != nil {
		return fmt.Errorf("%w: %w", ErrEvidence, err)
	}
	return nil
}

func (s *Service) signingEvidence(_ context.Context, r *Request, w *Wallet) ([]byte, error) {
	e := SigningEvidence{RequestID: r.ID, Kind: r.Kind, WalletID: w.ID, Initiator: r.Evidence, Body: r.Body, Unsigned: r.Unsigned, ApprovalID: r.ApprovalID}
	return e.MarshalBinary()
}

// GatePolicies is the signer's read-only view of policies;
// *policy.Engine implements it.
type GatePolicies interface {
	Check(ctx context.Context, identity string, op policy.Operation) error
	Recheck(ctx context.Context, a policy.Activity) (policy.Decision, error)
	Approval(ctx context.Context, id string) (policy.Approval, error)
}

// GateConfig wires an EvidenceGate to the signer's own view of credentials,
// wallets and policies: sources it trusts, not the coordinator. Every field
// but Clock and MaxAge is required.
type GateConfig struct {
	Credentials CredentialSource
	// Wallets gives a wallet's record: its key id, public key, network and
	// tags. (*Service).Wallet implements it.
	Wallets  func(ctx context.Context, id string) (*Wallet, error)
	Policies GatePolicies
	// Chains decodes payloads; adapters without a client suffice.
	Chains *chains.Registry
	// Store is the signer's own store, where the gate records which
	// transaction each user action was signed for, so that the action
	// cannot be presented again for another one. Required.
	Store store.Store
	// MaxAge bounds how long after its challenge expired a user action
	// still authorises a signature (approvals can take a while); default
	// 24 h. Records are kept that long.
	MaxAge time.Duration
	Clock  func() time.Time
}

// EvidenceGate is an mpc.Gate for signers: before a signer takes part, it
// checks the SigningEvidence the request carries, so that a compromised
// coordinator alone cannot obtain a signature. It requires that
//   - the initiator's user action verifies under a credential the signer's
//     source knows, owned by the initiator and not revoked, was signed for
//     exactly this request body on this wallet, and is not older than
//     MaxAge; and the initiator holds the operation's permission;
//   - what is to be signed is derived from that body: the chain adapter
//     decodes the unsigned transaction (which must move what the body
//     says, to whom it says) or prepares the message, and the digest the
//     signer is asked to sign is one of the results, under the wallet's key;
//   - the policies, re-checked by the signer (policy.Engine.Recheck), allow
//     the activity, or ask for an approval and the approval the signer's
//     policy source holds for this very user action is Approved and every
//     decision's signed evidence verifies. A Block refuses, approved or
//     not.
//
// What it cannot see: a compromised coordinator together with a
// compromised policy store or credential source.
//
// One user action authorises one thing to sign: the gate records, in the
// signer's store, the digests it let through for each action, and refuses
// the action for any other digest. Asking again for the same digests
// (another quorum, a retry) is allowed; a Transfer presented again with
// another nonce, coins or blockhash — a second payment — is not.
//
// What it does not prevent: the fee of a Transfer. The initiator signs the
// recipient, asset and amount, not the fee; the coordinator's adapter
// chooses it, and the gate does not bound it (policies do not judge fees).
// A caller who needs the fee fixed signs the transaction itself
// (SignTransaction).
type EvidenceGate struct {
	cfg GateConfig

	mu        sync.Mutex
	lastPrune time.Time
}

// NewEvidenceGate checks cfg and returns the gate.
func NewEvidenceGate(cfg GateConfig) (*EvidenceGate, error) {
	if cfg.Credentials == nil || cfg.Wallets == nil || cfg.Policies == nil || cfg.Chains == nil || cfg.Store == nil {
		return nil, fmt.Errorf("%w: gate config: credentials, wallets, policies, chains and store are required", ErrInvalid)
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &EvidenceGate{cfg: cfg}, nil
}

// Approve implements mpc.Gate. Every refusal wraps ErrEvidence.
func (g *EvidenceGate) Approve(ctx context.Context, req mpc.GateRequest) error {
	if g == nil || g.cfg.Wallets == nil { // not made by NewEvidenceGate: fail closed
		return fmt.Errorf("%w: the gate is not configured", ErrEvidence)
	}
	if err := g.check(ctx, req); err != nil {
		return fmt.Errorf("%w: %w", ErrEvidence, err)
	}
	return nil
}

func (g *EvidenceGate) check(ctx context.Context, req mpc.GateRequest) error {
	if len(req.Evidence) == 0 {
		return fmt.Errorf("no evidence")
	}
	var e SigningEvidence
	if err := e.UnmarshalBinary(req.Evidence); err != nil {
		return err
	}
	w, err := g.cfg.Wallets(ctx, e.WalletID)
	if err != nil {
		return err
	}
	if w.KeyID != req.KeyID {
		return fmt.Errorf("wallet %s does not use key %s", w.ID, req.KeyID)
	}
	if string(w.PublicKey.Scheme) != string(req.Scheme) || (!req.Taproot && !bytes.Equal(w.PublicKey.Bytes, req.PublicKey)) {
		return fmt.Errorf("the key to sign with is not wallet %s's", w.ID)
	}
	chain, err := g.cfg.Chains.Chain(w.Network)
	if err != nil {
		return err
	}

	// The initiator's signed action, over exactly this body.
	var op policy.Operation
	switch e.Kind {
	case KindTransfer:
		op = policy.OpWalletsTransfersCreate
	case KindSignTransaction, KindSignMessage:
		op = policy.OpWalletsSignaturesCreate
	default:
		return fmt.Errorf("request kind %q signs nothing", e.Kind)
	}
	ev, err := verifyEvidence(ctx, g.cfg.Credentials, "", e.Initiator)
	if err != nil {
		return fmt.Errorf("initiator's action: %w", err)
	}
	if err := ev.Binding.Matches(string(op), walletResource(w.ID), e.Body); err != nil {
		return fmt.Errorf("initiator's action: %w", err)
	}
	if g.cfg.Clock().After(ev.Binding.ExpiresAt.Add(g.cfg.MaxAge)) {
		return fmt.Errorf("initiator's action is older than %v", g.cfg.MaxAge)
	}
	if err := g.cfg.Policies.Check(ctx, ev.Principal, op); err != nil {
		return err
	}

	// What is signed comes from the body.
	digests, activity, err := g.derive(chain, w, &e)
	if err != nil {
		return err
	}
	if !containsDigest(digests, req) {
		return fmt.Errorf("the digest to sign is not the request's")
	}

	// The policies, as the signer reads them.
	a := signActivity(ev, e.Kind, w, activity)
	d, err := g.cfg.Policies.Recheck(ctx, a)
	if err != nil {
		return err
	}
	switch d.Outcome {
	case policy.OutcomeAllow:
	case policy.OutcomeRequireApproval:
		if err := g.checkApproval(ctx, &e, a); err != nil {
			return err
		}
	case policy.OutcomeBlock:
		// An approval never outweighs a Block: one may have been added
		// since the approval, to stop exactly this.
		return fmt.Errorf("the policies block the activity")
	default:
		return fmt.Errorf("policy outcome %q", d.Outcome)
	}
	return g.once(ctx, a.ID, digests, ev.Binding.ExpiresAt.Add(g.cfg.MaxAge))
}

const bucketGate = "custody/gate" // activity id → expiry (8 bytes, Unix s) ‖ SHA-256 of its digests

// once records that the user action named id authorises exactly digests,
// until expiry; it refuses the action for other digests.
func (g *EvidenceGate) once(ctx context.Context, id string, digests []chains.Digest, expiry time.Time) error {
	enc, err := wire.Marshal(digests)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(enc)
	now := g.cfg.Clock()
	return g.cfg.Store.Update(ctx, func(tx store.Tx) error {
		switch v, err := tx.Get(bucketGate, []byte(id)); {
		case err == nil:
			if len(v) != 8+sha256.Size {
				return fmt.Errorf("gate record of %s: %w", id, store.ErrCorrupt)
			}
			if !bytes.Equal(v[8:], sum[:]) {
				return fmt.Errorf("the initiator's action was already used for another transaction")
			}
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if g.duePrune(now) {
			if err := pruneGate(tx, now); err != nil {
				return err
			}
		}
		return tx.Put(bucketGate, []byte(id), append(binary.BigEndian.AppendUint64(nil, uint64(expiry.Unix())), sum[:]...))
	})
}

// duePrune reports whether an hour has passed since the gate last dropped
// expired records, and if so starts the next hour.
func (g *EvidenceGate) duePrune(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.lastPrune) <= time.Hour {
		return false
	}
	g.lastPrune = now
	return true
}

// pruneGate drops the records whose user actions no longer open the gate.
func pruneGate(tx store.Tx, now time.Time) error {
	var stale [][]byte
	err := tx.ForEach(bucketGate, nil, func(k, v []byte) error {
		if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) < now.Unix() {
			stale = append(stale, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range stale {
		if err := tx.Delete(bucketGate, k); err != nil {
			return err
		}
	}
	return nil
}

// derive decodes what the body asks to sign.
func (g *EvidenceGate) derive(chain chains.Chain, w *Wallet, e *SigningEvidence) ([]chains.Digest, *chains.Activity, error) {
	switch e.Kind {
	case KindSignMessage:
		var body SignMessageRequest
		if err := strictJSON(e.Body, &body); err != nil || body.WalletID != w.ID {
			return nil, nil, fmt.Errorf("body is not a signature request on wallet %s", w.ID)
		}
		d, err := messageDigest(chain, w, body.Format, body.Data)
		if err != nil {
			return nil, nil, err
		}
		return []chains.Digest{d}, nil, nil
	case KindSignTransaction:
		var body SignTransactionRequest
		if err := strictJSON(e.Body, &body); err != nil || body.WalletID != w.ID {
			return nil, nil, fmt.Errorf("body is not a transaction request on wallet %s", w.ID)
		}
		if !bytes.Equal(body.Payload, e.Unsigned) {
			return nil, nil, fmt.Errorf("the transaction is not the one the initiator signed")
		}
	case KindTransfer:
		var body TransferRequest
		if err := strictJSON(e.Body, &body); err != nil || body.WalletID != w.ID || body.Amount == nil {
			return nil, nil, fmt.Errorf("body is not a transfer on wallet %s", w.ID)
		}
		u, err := chain.Decode(w.PublicKey, e.Unsigned)
		if err != nil {
			return nil, nil, err
		}
		if err := sameTransfer(chain.Network(), &body, &u.Activity); err != nil {
			return nil, nil, err
		}
		return u.Digests, &u.Activity, nil
	}
	u, err := chain.Decode(w.PublicKey, e.Unsigned)
	if err != nil {
		return nil, nil, err
	}
	return u.Digests, &u.Activity, nil
}

// sameTransfer checks that a decoded transaction moves what the body says.
func sameTransfer(n chains.Network, body *TransferRequest, a *chains.Activity) error {
	eq := func(x, y string) bool { return x == y }
	sameAddress := eq
	switch n.Family {
	case chains.EVM: // hex addresses: case is only a checksum
		eq, sameAddress = strings.EqualFold, strings.EqualFold
	case chains.Bitcoin:
		// A bech32 address may be written all in upper case (QR codes);
		// the adapter describes it in lower case. Base58 addresses are
		// only ever equal as written.
		sameAddress = func(given, built string) bool {
			return given == built || given == strings.ToUpper(given) && strings.ToLower(given) == built
		}
	}
	switch {
	case a.Kind != chains.KindTransfer:
		return fmt.Errorf("the transaction is not a transfer")
	case !sameAddress(body.To, a.Recipient):
		return fmt.Errorf("the transaction pays %s, not %s", a.Recipient, body.To)
	case a.Amount == nil || a.Amount.Cmp(body.Amount) != 0:
		return fmt.Errorf("the transaction moves another amount")
	case body.Asset == "" && !a.Asset.IsNative(),
		body.Asset != "" && body.Asset != a.Asset.Symbol && !eq(body.Asset, a.Asset.ID):
		return fmt.Errorf("the transaction moves another asset")
	}
	return nil
}

func containsDigest(ds []chains.Digest, req mpc.GateRequest) bool {
	for _, d := range ds {
		if !bytes.Equal(d.Bytes, req.Message) || (d.Taproot != nil) != req.Taproot {
			continue
		}
		if d.Taproot != nil && !bytes.Equal(d.Taproot.MerkleRoot, req.Merkle) {
			continue
		}
		return true
	}
	return false
}

// checkApproval requires an approval, from the signer's own policy source,
// approved for exactly this activity, every decision verified.
func (g *EvidenceGate) checkApproval(ctx context.Context, e *SigningEvidence, a policy.Activity) error {
	if e.ApprovalID == "" {
		return fmt.Errorf("the policies require an approval and none is given")
	}
	ap, err := g.cfg.Policies.Approval(ctx, e.ApprovalID)
	if err != nil {
		return err
	}
	got := ap.Activity
	switch {
	case ap.Status != policy.ApprovalApproved:
		return fmt.Errorf("approval %s is %s", ap.ID, ap.Status)
	case got.ID != a.ID || got.WalletID != a.WalletID || got.Initiator != a.Initiator || got.Recipient != a.Recipient || got.Asset != a.Asset:
		return fmt.Errorf("approval %s is for another activity", ap.ID)
	case (got.Amount == nil) != (a.Amount == nil) || (got.Amount != nil && got.Amount.Cmp(a.Amount) != 0):
		return fmt.Errorf("approval %s is for another amount", ap.ID)
	}
	return ap.Verify(ctx, ActionVerifier{Credentials: g.cfg.Credentials})
}

// strictJSON decodes a body the initiator signed, refusing unknown fields.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}
