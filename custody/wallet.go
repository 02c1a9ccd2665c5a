package custody

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
)

// Wallet is a handle on a wallet: its public record, and the operations on
// it. Every operation takes the token of a user action signed over the
// request's Action (the wallet id is filled in from the handle when the
// request leaves it empty, before the action is computed, so sign what the
// handle will send: set WalletID yourself; a request naming another wallet
// is refused with ErrInvalid).
type Wallet struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Network   string           `json:"network"`
	Tags      []string         `json:"tags,omitempty"`
	Address   string           `json:"address"`
	PublicKey chains.PublicKey `json:"publicKey"`
	// KeyID names the threshold key at the Coordinator.
	KeyID      string    `json:"keyId"`
	ExternalID string    `json:"externalId,omitempty"`
	CreatedBy  string    `json:"createdBy"`
	CreatedAt  time.Time `json:"createdAt"`

	svc *Service
}

// Transfer moves an asset out of w.
func (w *Wallet) Transfer(ctx context.Context, tok authn.Token, r TransferRequest) (_ *Request, err error) {
	if w == nil || w.svc == nil {
		return nil, errDetached
	}
	if r.WalletID, err = w.own(r.WalletID); err != nil {
		return nil, err
	}
	return w.svc.Transfer(ctx, tok, r)
}

// SignTransaction signs (and, if asked, broadcasts) a transaction of w.
func (w *Wallet) SignTransaction(ctx context.Context, tok authn.Token, r SignTransactionRequest) (_ *Request, err error) {
	if w == nil || w.svc == nil {
		return nil, errDetached
	}
	if r.WalletID, err = w.own(r.WalletID); err != nil {
		return nil, err
	}
	return w.svc.SignTransaction(ctx, tok, r)
}

// SignMessage signs a message or a hash with w's key.
func (w *Wallet) SignMessage(ctx context.Context, tok authn.Token, r SignMessageRequest) (_ *Request, err error) {
	if w == nil || w.svc == nil {
		return nil, errDetached
	}
	if r.WalletID, err = w.own(r.WalletID); err != nil {
		return nil, err
	}
	return w.svc.SignMessage(ctx, tok, r)
}

// Requests lists w's requests, oldest first.
func (w *Wallet) Requests(ctx context.Context) ([]*Request, error) {
	if w == nil || w.svc == nil {
		return nil, errDetached
	}
	return w.svc.Requests(ctx, RequestFilter{WalletID: w.ID})
}

// own is the wallet id a request on w's handle names: w's, when the
// request leaves it empty; a request naming another wallet is refused.
func (w *Wallet) own(id string) (string, error) {
	switch id {
	case "":
		return w.ID, nil
	case w.ID:
		return id, nil
	}
	return "", fmt.Errorf("%w: a request on wallet %s names wallet %q", ErrInvalid, w.ID, id)
}

var errDetached = fmt.Errorf("%w: a wallet record read from the store, not from a Service", ErrInvalid)

// CreateWallet asks for a new wallet. The key generation runs once the
// request is allowed (or approved, under a Wallets:Create policy that asks
// for approval); the returned request is Completed, with WalletID naming
// the wallet, or Pending, or Rejected.
func (s *Service) CreateWallet(ctx context.Context, tok authn.Token, r CreateWalletRequest) (*Request, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	act, err := r.Action()
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, tok, submission{
		kind: KindCreateWallet, action: act, op: policy.OpWalletsCreate, externalID: r.ExternalID,
		prepare: func(ctx context.Context, _ string) (*Request, error) {
			chain, err := s.cfg.Chains.Chain(r.Network)
			if err != nil {
				return nil, err
			}
			if _, err := schemeFor(chain.Network(), r.Scheme); err != nil {
				return nil, err
			}
			return &Request{Network: r.Network, WalletID: s.newID("wal")}, nil
		},
	})
}

// Transfer moves an asset out of a wallet: the adapter builds the
// transaction (checking the address, the amount and the balance), policies
// judge what it does, and once allowed or approved the wallet's signers sign
// it and it is broadcast. The transaction is built again just before it is
// signed (with a fresh nonce, coins or blockhash, and the same recipient,
// asset and amount), and a wallet's transfers are built, signed and sent
// one at a time. The returned request is Broadcasted, Pending or Rejected;
// Run (or Poll) takes it to Confirmed.
func (s *Service) Transfer(ctx context.Context, tok authn.Token, r TransferRequest) (*Request, error) {
	return s.onWallet(ctx, tok, r, KindTransfer, policy.OpWalletsTransfersCreate, r.WalletID, r.ExternalID,
		func(ctx context.Context, w *Wallet, chain chains.Chain) (*Request, error) {
			if err := chain.ValidateAddress(r.To); err != nil {
				return nil, err
			}
			u, err := chain.Transfer(ctx, chains.Transfer{From: w.PublicKey, To: r.To, Asset: r.Asset, Amount: r.Amount})
			if err != nil {
				return nil, err
			}
			return unsignedRequest(w, u), nil
		})
}

// SignTransaction signs a transaction the caller built, after the adapter
// decoded it and policies judged what it does.
func (s *Service) SignTransaction(ctx context.Context, tok authn.Token, r SignTransactionRequest) (*Request, error) {
	return s.onWallet(ctx, tok, r, KindSignTransaction, policy.OpWalletsSignaturesCreate, r.WalletID, r.ExternalID,
		func(_ context.Context, w *Wallet, chain chains.Chain) (*Request, error) {
			u, err := chain.Decode(w.PublicKey, r.Payload)
			if err != nil {
				return nil, err
			}
			return unsignedRequest(w, u), nil
		})
}

// SignMessage signs a message in a chain's format (EIP-191, EIP-712) or a
// raw hash (FormatHash). Policies see a Hash payload of unknown value.
func (s *Service) SignMessage(ctx context.Context, tok authn.Token, r SignMessageRequest) (*Request, error) {
	return s.onWallet(ctx, tok, r, KindSignMessage, policy.OpWalletsSignaturesCreate, r.WalletID, r.ExternalID,
		func(_ context.Context, w *Wallet, chain chains.Chain) (*Request, error) {
			d, err := messageDigest(chain, w, r.Format, r.Data)
			if err != nil {
				return nil, err
			}
			act := &chains.Activity{Kind: chains.KindMessage, Network: w.Network, From: w.Address}
			return &Request{WalletID: w.ID, Network: w.Network, Activity: act, Digests: []chains.Digest{d}}, nil
		})
}

// callBody is a call's request: it checks itself and says what its
// initiator signs.
type callBody interface {
	validate() error
	Action() (Action, error)
}

// onWallet submits a call on wallet walletID; build makes the request from
// the wallet and its network's adapter.
func (s *Service) onWallet(ctx context.Context, tok authn.Token, body callBody, kind RequestKind, op policy.Operation, walletID, externalID string,
	build func(context.Context, *Wallet, chains.Chain) (*Request, error)) (*Request, error) {
	if err := body.validate(); err != nil {
		return nil, err
	}
	act, err := body.Action()
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, tok, submission{
		kind: kind, action: act, op: op, externalID: externalID,
		prepare: func(ctx context.Context, _ string) (*Request, error) {
			w, chain, err := s.walletChain(ctx, walletID)
			if err != nil {
				return nil, err
			}
			return build(ctx, w, chain)
		},
	})
}

// messageDigest is what w's key signs for data in format.
func messageDigest(chain chains.Chain, w *Wallet, format chains.MessageFormat, data []byte) (chains.Digest, error) {
	if format == FormatHash {
		if w.PublicKey.Scheme != chains.Ed25519 && len(data) != 32 {
			return chains.Digest{}, fmt.Errorf("%w: a %s key signs a 32-byte hash", ErrInvalid, w.PublicKey.Scheme)
		}
		return chains.Digest{Scheme: w.PublicKey.Scheme, Bytes: data}, nil
	}
	m, ok := chain.(chains.Messages)
	if !ok {
		return chains.Digest{}, fmt.Errorf("%w: %s signs no messages", chains.ErrUnsupported, w.Network)
	}
	u, err := m.PrepareMessage(w.PublicKey, format, data)
	if err != nil {
		return chains.Digest{}, err
	}
	return u.Digest, nil
}

func unsignedRequest(w *Wallet, u *chains.Unsigned) *Request {
	act := u.Activity
	return &Request{WalletID: w.ID, Network: w.Network, Activity: &act, Unsigned: u.Payload, Digests: u.Digests}
}

func (s *Service) walletChain(ctx context.Context, id string) (*Wallet, chains.Chain, error) {
	w, err := s.Wallet(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	chain, err := s.cfg.Chains.Chain(w.Network)
	if err != nil {
		return nil, nil, err
	}
	return w, chain, nil
}

// Wallet returns the wallet with id, or ErrUnknownWallet.
func (s *Service) Wallet(ctx context.Context, id string) (*Wallet, error) {
	w, err := StoreWallets(s.cfg.Store)(ctx, id)
	if err != nil {
		return nil, err
	}
	w.svc = s
	return w, nil
}

// StoreWallets reads wallet records straight from a custody store, for an
// EvidenceGate built before the Service (the signers exist before the
// coordinator the service needs). The records' operation methods are not
// usable; they return ErrInvalid.
func StoreWallets(st store.Store) func(ctx context.Context, id string) (*Wallet, error) {
	return func(ctx context.Context, id string) (*Wallet, error) {
		var w Wallet
		if err := st.View(ctx, func(tx store.Tx) error { return getJSON(tx, bucketWallets, id, &w) }); err != nil {
			return nil, notFound(err, ErrUnknownWallet, id)
		}
		return &w, nil
	}
}

// Wallets lists the wallets, oldest first.
func (s *Service) Wallets(ctx context.Context) ([]*Wallet, error) {
	var out []*Wallet
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(bucketWallets, nil, func(_, v []byte) error {
			w := &Wallet{svc: s}
			if err := jsonUnmarshal(v, w); err != nil {
				return err
			}
			out = append(out, w)
			return nil
		})
	})
	return out, err
}
