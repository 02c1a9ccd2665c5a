// Command quickstart is Cairn's custody demo, on embedded defaults and in one
// process: an in-memory 3-of-5 MPC cluster whose signers check the evidence
// behind every signature, the custody service over it, an admin and an
// approver, an Ethereum wallet (on go-ethereum's simulated chain) and a
// Solana wallet, a policy that holds large transfers for approval, one
// transfer that goes straight through and one that waits for the approver,
// and an offline check of every signature and of the audit log.
//
//	go run ./examples/quickstart
//
// It is also the integration guide: everything is wired by hand from public
// packages, as an integrator's backend would wire it. In a real deployment
// the signers, the coordinator and the custody service are separate
// processes (see examples/signer-node), users sign their actions on their
// own devices with passkeys, and each signer's evidence gate reads a
// replica of the credentials and policies it trusts.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/evm"
	"github.com/cairn-mpc/cairn/chains/solana"
	"github.com/cairn-mpc/cairn/custody"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
)

const (
	signers   = 5
	threshold = 3
	chainID   = 1337
	// ethereum names the simulated chain in the chains registry.
	ethereum = "Ethereum (simulated)"
	// The relying party users' credentials are scoped to.
	rpID   = "cairn.example"
	origin = "https://cairn.example"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run is the demo; it writes its account to out.
func run(ctx context.Context, out io.Writer) error {
	start := time.Now()
	d, err := deploy(ctx)
	if err != nil {
		return err
	}
	defer d.close()
	say := func(label, format string, args ...any) {
		fmt.Fprintf(out, "%-9s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(out, "Cairn quickstart: custody on an in-memory MPC cluster")
	say("cluster", "%d signers, threshold %d, each with its own sealed bbolt store; evidence gate on", signers, threshold)

	// Users. authn knows who they are; policy decides what they may do.
	admin, err := d.newUser(ctx, "admin")
	if err != nil {
		return err
	}
	if err := d.svc.Bootstrap(ctx, admin.id); err != nil {
		return err
	}
	approver, err := d.newUser(ctx, "approver")
	if err != nil {
		return err
	}
	if err := d.grant(ctx, admin, approver, "approvers", policy.OpPoliciesApprovalsDecide); err != nil {
		return err
	}
	say("users", "admin (bootstrapped: every permission); approver (%s)", policy.OpPoliciesApprovalsDecide)
	say("", "each signs every action with its own Ed25519 key credential, held by this process")

	// Wallets: each is a distributed key generation among the signers.
	eth, took, err := d.createWallet(ctx, admin, ethereum)
	if err != nil {
		return err
	}
	say("wallet", "Ethereum %s (threshold ECDSA key, DKG in %s)", eth.Address, round(took))
	sol, took, err := d.createWallet(ctx, admin, solana.Devnet.Name)
	if err != nil {
		return err
	}
	say("wallet", "Solana   %s (threshold Ed25519 key, DKG in %s)", sol.Address, round(took))
	if err := d.chain.fund(ctx, common.HexToAddress(eth.Address), ether(10)); err != nil {
		return err
	}
	say("faucet", "10 ETH to the Ethereum wallet (go-ethereum's simulated chain, id %d)", chainID)

	// A policy: transfers worth more than 1,000 USD wait for the approver.
	large := policy.Policy{
		Name: "large transfers", ActivityKind: policy.WalletsSign,
		Rule: policy.TransactionAmountLimit{Limit: "1000", Currency: "USD"},
		Action: policy.RequestApproval{
			Groups:            []policy.ApprovalGroup{{Name: "treasury", Quorum: 1, Approvers: []string{approver.id}}},
			AutoRejectTimeout: time.Hour,
		},
	}
	act, err := custody.PolicyAction(large)
	if err != nil {
		return err
	}
	tok, err := admin.sign(ctx, act)
	if err != nil {
		return err
	}
	c, err := d.svc.SetPolicy(ctx, tok, large)
	if err != nil {
		return err
	}
	if c.Status != policy.ChangeApplied {
		return fmt.Errorf("policy change is %s: %s", c.Status, c.Reason)
	}
	say("policy", "%q: above 1,000 USD (1 ETH = %s USD) needs 1 approval by approver", large.Name, ethPriceUSD)

	// A recipient with no history.
	var to common.Address
	if _, err := rand.Read(to[:]); err != nil {
		return err
	}

	// 0.1 ETH is 300 USD: allowed, signed, broadcast.
	small := new(big.Int).Div(ether(1), big.NewInt(10))
	r, err := d.transfer(ctx, admin, eth, to, small)
	if err != nil {
		return err
	}
	if r.Status != custody.StatusBroadcasted {
		return fmt.Errorf("transfer of 0.1 ETH is %s, want %s: %v", r.Status, custody.StatusBroadcasted, r.Reasons)
	}
	say("transfer", "0.1 ETH to %s: allowed → %s, tx %s", short(to.Hex()), r.Status, short(r.TxID))
	if r, err = d.confirm(ctx, r); err != nil {
		return err
	}
	say("", "block mined → %s in block %d", r.Status, r.Block)
	first := r

	// 1 ETH is 3,000 USD: held for approval.
	r, err = d.transfer(ctx, admin, eth, to, ether(1))
	if err != nil {
		return err
	}
	if r.Status != custody.StatusPending {
		return fmt.Errorf("transfer of 1 ETH is %s, want %s", r.Status, custody.StatusPending)
	}
	say("transfer", "1 ETH to %s: %s, %s", short(to.Hex()), r.Status, strings.Join(r.Reasons, "; "))
	decision := custody.DecisionRequest{ApprovalID: r.ApprovalID, Reason: "expected payout"}
	if tok, err = approver.sign(ctx, decision.Action(policy.VoteApproved)); err != nil {
		return err
	}
	decided, err := d.svc.Approve(ctx, tok, decision)
	if err != nil {
		return err
	}
	r = decided.Request
	if r == nil || r.Status != custody.StatusBroadcasted {
		return fmt.Errorf("approved transfer is not broadcast: %+v", decided)
	}
	say("", "approver approves (signed action) → %s, tx %s", r.Status, short(r.TxID))
	if r, err = d.confirm(ctx, r); err != nil {
		return err
	}
	say("", "block mined → %s in block %d", r.Status, r.Block)
	second := r

	// Check everything, from public data: the chain, the signatures, the
	// audit log.
	want := new(big.Int).Add(small, ether(1))
	got, err := d.chain.client.BalanceAt(ctx, to, nil)
	if err != nil {
		return err
	}
	if got.Cmp(want) != 0 {
		return fmt.Errorf("recipient holds %s wei, want %s", got, want)
	}
	say("verify", "recipient balance %s ETH, as sent", formatEther(got))
	for _, r := range []*custody.Request{first, second} {
		if err := verifyTransaction(eth, r); err != nil {
			return fmt.Errorf("request %s: %w", r.ID, err)
		}
	}
	say("", "both transactions: the MPC signature verifies under the wallet's key and")
	say("", "recovers the wallet's address as sender; the signed tx hashes to its id")
	if err := d.svc.VerifyAuditLog(ctx); err != nil {
		return err
	}
	entries, err := d.svc.AuditLog(ctx, 0, 0)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return errors.New("the audit log is empty")
	}
	say("", "audit log verified: %d entries, hash chain and every signed action", len(entries))
	say("", "audit head %x", entries[len(entries)-1].Hash)
	fmt.Fprintf(out, "Done in %s.\n", round(time.Since(start)))
	return nil
}

// verifyTransaction checks a confirmed transfer of w offline: the
// signature over the digest verifies under w's public key, and the signed
// transaction is that digest's, recovers w's address as sender, and hashes
// to the broadcast id.
func verifyTransaction(w *custody.Wallet, r *custody.Request) error {
	if r.Status != custody.StatusConfirmed || len(r.Digests) != 1 || len(r.Signatures) != 1 {
		return fmt.Errorf("%s with %d digests and %d signatures", r.Status, len(r.Digests), len(r.Signatures))
	}
	sig, err := evm.NormalizeSignature(r.Signatures[0])
	if err != nil {
		return err
	}
	if !crypto.VerifySignature(w.PublicKey.Bytes, r.Digests[0].Bytes, sig[:64]) {
		return errors.New("the signature does not verify under the wallet's key")
	}
	var tx types.Transaction
	if err := tx.UnmarshalBinary(r.Result); err != nil {
		return err
	}
	signer := types.LatestSignerForChainID(big.NewInt(chainID))
	if h := signer.Hash(&tx); !bytes.Equal(h[:], r.Digests[0].Bytes) {
		return errors.New("the signed transaction is not the digest's")
	}
	from, err := types.Sender(signer, &tx)
	if err != nil {
		return err
	}
	if !strings.EqualFold(from.Hex(), w.Address) {
		return fmt.Errorf("sender %s, want the wallet's %s", from.Hex(), w.Address)
	}
	if tx.Hash().Hex() != r.TxID {
		return fmt.Errorf("transaction hash %s, want %s", tx.Hash().Hex(), r.TxID)
	}
	return nil
}

// deployment is everything the demo runs: the cluster, the custody service
// and the simulated chain, all in one process.
type deployment struct {
	svc   *custody.Service
	authn *authn.Service
	chain *simChain

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closers []func() error // in the order to close them
	dir     string
}

// The prices policies value assets at. A deployment would use a price feed.
const (
	ethPriceUSD = "3000"
	solPriceUSD = "150"
)

// deploy wires the custody service over a fresh 3-of-5 cluster, each
// signer's gate checking the signing evidence, in a temporary directory.
func deploy(ctx context.Context) (d *deployment, err error) {
	d = &deployment{}
	ctx, d.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			d.close()
			d = nil
		}
	}()
	if d.dir, err = os.MkdirTemp("", "cairn-quickstart-"); err != nil {
		return d, err
	}

	// One store for custody, policies and authn (their buckets are
	// distinct).
	st, err := d.open("custody.db")
	if err != nil {
		return d, err
	}
	d.authn, err = authn.New(authn.Config{Store: st, RPID: rpID, RPOrigins: []string{origin}})
	if err != nil {
		return d, err
	}
	prices, err := policy.NewStaticPrices(
		policy.StaticPrice{Asset: "ETH", Currency: "USD", PerUnit: ethPriceUSD, Decimals: 18},
		policy.StaticPrice{Asset: "SOL", Currency: "USD", PerUnit: solPriceUSD, Decimals: 9},
	)
	if err != nil {
		return d, err
	}
	// Approvers' decisions are signed user actions: authn verifies them.
	policies, err := policy.NewEngine(policy.Config{Store: st, Prices: prices, Verifier: custody.ActionVerifier{Credentials: d.authn}})
	if err != nil {
		return d, err
	}

	// Chains: Ethereum on go-ethereum's simulated backend, and an offline
	// Solana adapter (addresses and signatures; no transfers).
	if d.chain, err = newSimChain(); err != nil {
		return d, err
	}
	d.closers = append(d.closers, d.chain.backend.Close)
	sol, err := solana.New(solana.Config{Network: solana.Devnet})
	if err != nil {
		return d, err
	}
	registry, err := chains.NewRegistry(d.chain.adapter, sol)
	if err != nil {
		return d, err
	}

	// Each signer's gate checks the evidence behind a signature against
	// its own view of credentials, policies and wallets (here the shared
	// store; in production, a replica the coordinator cannot write).
	// It records in the signer's own store what each user action was
	// signed for, so that no action is used twice.
	newGate := func(signerStore store.Store) (mpc.Gate, error) {
		return custody.NewEvidenceGate(custody.GateConfig{
			Credentials: d.authn, Policies: policies, Chains: registry,
			Wallets: custody.StoreWallets(st), Store: signerStore,
		})
	}
	coord, nodes, err := d.startCluster(ctx, newGate)
	if err != nil {
		return d, err
	}

	d.svc, err = custody.New(custody.Config{
		Coordinator: coord, Signers: nodes, Threshold: threshold,
		Policies: policies, Authn: d.authn, Chains: registry, Store: st,
	})
	if err != nil {
		return d, err
	}
	d.wg.Go(func() { _ = d.svc.Run(ctx) })
	return d, nil
}

// startCluster starts the signers and the coordinator on an in-memory
// network. Each signer has an Ed25519 identity every other node knows, its
// own store, and a key-encryption key its shares are sealed under.
func (d *deployment) startCluster(ctx context.Context, newGate func(store.Store) (mpc.Gate, error)) (*mpc.Coordinator, []transport.NodeID, error) {
	net := memory.NewNetwork()
	d.closers = append(d.closers, net.Close)
	const coordNode transport.NodeID = "coordinator"
	identities := map[transport.NodeID]ed25519.PrivateKey{}
	peers := map[transport.NodeID]ed25519.PublicKey{}
	var nodes []transport.NodeID
	for i := 0; i <= signers; i++ {
		id := coordNode
		if i > 0 {
			id = transport.NodeID(fmt.Sprintf("signer-%d", i))
			nodes = append(nodes, id)
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		identities[id], peers[id] = priv, pub
	}

	for _, id := range nodes {
		st, err := d.open(string(id) + ".db")
		if err != nil {
			return nil, nil, err
		}
		// A deployment keeps the KEK in a KMS or a file (store.ReadKEKFile);
		// here it lives as long as the process.
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, nil, err
		}
		kek, err := store.NewKEK(key)
		if err != nil {
			return nil, nil, err
		}
		gate, err := newGate(st)
		if err != nil {
			return nil, nil, err
		}
		s, err := mpc.NewSigner(mpc.SignerConfig{
			Node: id, Identity: identities[id], Transport: net.Endpoint(id), Store: st,
			Sealer: store.NewSealer(kek), Peers: peers, Coordinators: []transport.NodeID{coordNode}, Gate: gate,
		})
		if err != nil {
			return nil, nil, err
		}
		d.wg.Go(func() { _ = s.Run(ctx) })
	}

	// The coordinator keeps public records only: keys and their signers.
	st, err := d.open("coordinator.db")
	if err != nil {
		return nil, nil, err
	}
	signerKeys := map[transport.NodeID]ed25519.PublicKey{}
	for _, id := range nodes {
		signerKeys[id] = peers[id]
	}
	coord, err := mpc.NewCoordinator(mpc.CoordinatorConfig{
		Node: coordNode, Identity: identities[coordNode], Transport: net.Endpoint(coordNode), Store: st, Signers: signerKeys,
	})
	if err != nil {
		return nil, nil, err
	}
	d.wg.Go(func() { _ = coord.Run(ctx) })
	return coord, nodes, nil
}

// open opens a bbolt store in the deployment's directory.
func (d *deployment) open(name string) (*bolt.DB, error) {
	st, err := bolt.Open(filepath.Join(d.dir, name), nil)
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, st.Close)
	return st, nil
}

// close stops every goroutine, then closes the stores, the network and the
// chain, and removes the directory.
func (d *deployment) close() {
	d.cancel()
	d.wg.Wait()
	for i := len(d.closers) - 1; i >= 0; i-- {
		_ = d.closers[i]()
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

// grant has admin create a permission holding ops and assign it to u, both
// as signed actions.
func (d *deployment) grant(ctx context.Context, admin, u *user, name string, ops ...policy.Operation) error {
	p := policy.Permission{Name: name, Operations: ops}
	act, err := custody.PermissionAction(p)
	if err != nil {
		return err
	}
	tok, err := admin.sign(ctx, act)
	if err != nil {
		return err
	}
	c, err := d.svc.CreatePermission(ctx, tok, p)
	if err != nil {
		return err
	}
	if c.Status != policy.ChangeApplied || c.Permission == nil {
		return fmt.Errorf("permission %q is %s: %s", name, c.Status, c.Reason)
	}
	id := c.Permission.ID
	if tok, err = admin.sign(ctx, custody.AssignmentAction(id, u.id, true)); err != nil {
		return err
	}
	if c, err = d.svc.AssignPermission(ctx, tok, id, u.id); err != nil {
		return err
	}
	if c.Status != policy.ChangeApplied {
		return fmt.Errorf("assignment of %q is %s: %s", name, c.Status, c.Reason)
	}
	return nil
}

// createWallet has u create a wallet on network and returns it with the
// time its key generation took.
func (d *deployment) createWallet(ctx context.Context, u *user, network string) (*custody.Wallet, time.Duration, error) {
	req := custody.CreateWalletRequest{Network: network, Name: "treasury"}
	act, err := req.Action()
	if err != nil {
		return nil, 0, err
	}
	tok, err := u.sign(ctx, act)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	r, err := d.svc.CreateWallet(ctx, tok, req)
	if err != nil {
		return nil, 0, err
	}
	took := time.Since(start)
	if r.Status != custody.StatusCompleted {
		return nil, 0, fmt.Errorf("%s wallet is %s: %v", network, r.Status, r.Reasons)
	}
	w, err := d.svc.Wallet(ctx, r.WalletID)
	return w, took, err
}

// transfer has u send amount wei from w to to.
func (d *deployment) transfer(ctx context.Context, u *user, w *custody.Wallet, to common.Address, amount *big.Int) (*custody.Request, error) {
	req := custody.TransferRequest{WalletID: w.ID, To: to.Hex(), Amount: amount}
	act, err := req.Action()
	if err != nil {
		return nil, err
	}
	tok, err := u.sign(ctx, act)
	if err != nil {
		return nil, err
	}
	return w.Transfer(ctx, tok, req)
}

// confirm mines a block and polls the service until r is Confirmed. Run
// polls too, every PollInterval; Poll just saves the wait.
func (d *deployment) confirm(ctx context.Context, r *custody.Request) (*custody.Request, error) {
	d.chain.mine()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := d.svc.Poll(ctx); err != nil {
			return nil, err
		}
		got, err := d.svc.Request(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case got.Status == custody.StatusConfirmed:
			return got, nil
		case got.Status.Final():
			return nil, fmt.Errorf("request %s is %s: %v", got.ID, got.Status, got.Reasons)
		case time.Now().After(deadline):
			return nil, fmt.Errorf("request %s is still %s", got.ID, got.Status)
		}
		// Run's own poll holds the request: let it finish.
		time.Sleep(10 * time.Millisecond)
	}
}

// user is an identity with an Ed25519 key credential, the way a backend
// or a service account signs its actions. A person would use a passkey
// instead (authn's BeginPasskeyRegistration, and the browser's WebAuthn
// API to sign); the service sees the same signed actions either way.
type user struct {
	id   string
	key  ed25519.PrivateKey
	cred []byte // the credential id
	svc  *authn.Service
}

// newUser creates an employee and registers a fresh key credential for it.
func (d *deployment) newUser(ctx context.Context, name string) (*user, error) {
	ident, err := d.authn.CreateUser(ctx, authn.Employee, name)
	if err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	// Registration proves possession: the key signs a fresh challenge.
	ch, err := d.authn.BeginKeyRegistration(ctx, ident.ID, authn.Key)
	if err != nil {
		return nil, err
	}
	cd := authn.KeyClientData(authn.KeyCreate, ch.Challenge)
	att, err := json.Marshal(authn.KeyAttestation{Algorithm: authn.Ed25519, PublicKey: authn.Base64URL(pub), ClientData: cd, Signature: ed25519.Sign(priv, cd)})
	if err != nil {
		return nil, err
	}
	cred, err := d.authn.FinishKeyRegistration(ctx, ch.ID, att, name+"'s key")
	if err != nil {
		return nil, err
	}
	return &user{id: ident.ID, key: priv, cred: cred.ID, svc: d.authn}, nil
}

// sign has u sign act: authn issues a challenge bound to the action's
// operation, resource and payload hash, u's key signs it, and authn turns
// the signature into the single-use token the call carries.
func (u *user) sign(ctx context.Context, act custody.Action) (authn.Token, error) {
	ch, err := u.svc.InitAction(ctx, u.id, act.Operation, act.Resource, act.Payload)
	if err != nil {
		return "", err
	}
	cd := authn.KeyClientData(authn.KeyGet, ch.Challenge)
	assertion, err := json.Marshal(authn.KeyAssertion{Type: authn.KeyAssertionType, ID: u.cred, ClientData: cd, Signature: ed25519.Sign(u.key, cd)})
	if err != nil {
		return "", err
	}
	tok, _, err := u.svc.CompleteAction(ctx, ch.ID, assertion)
	return tok, err
}

// simChain is go-ethereum's simulated backend, with a funded faucet, and
// Cairn's EVM adapter on it.
type simChain struct {
	backend *simulated.Backend
	client  simulated.Client
	adapter *evm.Chain
	faucet  *ecdsa.PrivateKey
	mu      sync.Mutex // Commit is not safe alongside itself
}

func newSimChain() (*simChain, error) {
	faucet, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	backend := simulated.NewBackend(types.GenesisAlloc{
		crypto.PubkeyToAddress(faucet.PublicKey): {Balance: ether(1_000_000)},
	})
	net := chains.Network{Name: ethereum, Family: chains.EVM, ChainID: fmt.Sprint(chainID), Native: chains.Asset{Symbol: "ETH", Decimals: 18}, Testnet: true}
	adapter, err := evm.New(evm.Config{Network: net, Client: backend.Client()})
	if err != nil {
		_ = backend.Close()
		return nil, err
	}
	return &simChain{backend: backend, client: backend.Client(), adapter: adapter, faucet: faucet}, nil
}

// fund sends amount wei from the faucet to addr and mines it.
func (c *simChain) fund(ctx context.Context, addr common.Address, amount *big.Int) error {
	from := crypto.PubkeyToAddress(c.faucet.PublicKey)
	nonce, err := c.client.PendingNonceAt(ctx, from)
	if err != nil {
		return err
	}
	head, err := c.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	tip := big.NewInt(params.GWei)
	tx, err := types.SignNewTx(c.faucet, types.LatestSignerForChainID(big.NewInt(chainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(chainID), Nonce: nonce, GasTipCap: tip,
		GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
		Gas:       params.TxGas, To: &addr, Value: amount,
	})
	if err != nil {
		return err
	}
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		return err
	}
	c.mine()
	return nil
}

// mine seals a block with the pending transactions.
func (c *simChain) mine() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.backend.Commit()
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// formatEther writes wei in ether, without trailing zeros.
func formatEther(wei *big.Int) string {
	s := new(big.Rat).SetFrac(wei, big.NewInt(params.Ether)).FloatString(18)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// short abbreviates a hex id for display.
func short(s string) string {
	if len(s) <= 14 {
		return s
	}
	return s[:8] + "…" + s[len(s)-4:]
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
