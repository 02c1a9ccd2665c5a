// Package custodytest gives integrators a real custody service for their
// unit tests, in the manner of net/http/httptest: an in-memory 3-of-5 MPC
// cluster (real signers with bbolt stores in temporary directories, each
// checking the signing evidence), a policy engine, authn with a bootstrapped
// administrator holding a virtual passkey, and an EVM chain on go-ethereum's
// simulated backend.
//
//	env := custodytest.New(t)
//	alice := env.NewUser(t, "alice", policy.OpWalletsCreate, policy.OpWalletsTransfersCreate)
//	req, _ := custodytest.Do(t, alice, custody.CreateWalletRequest{Network: custodytest.Network, Name: "ops"}, env.Service.CreateWallet)
//
// Everything runs in the test's process and stops when the test ends. The
// keys are real threshold keys; the passkeys are virtual and their private
// keys live in memory: never use this package outside tests.
package custodytest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/params"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/evm"
	"github.com/cairn-mpc/cairn/chains/solana"
	"github.com/cairn-mpc/cairn/custody"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/mpctest"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/cairn-mpc/cairn/transport"
)

// Network is the simulated EVM network's name (chain id 1337, ETH).
const Network = "Simulated"

// The prices the policy engine values assets at, in USD.
const (
	ETHPriceUSD = "3000"
	SOLPriceUSD = "150"
)

// SolanaNetwork is an offline Solana adapter's network: wallets and
// message signatures, no transfers.
var SolanaNetwork = solana.Devnet.Name

// The relying party the test users' passkeys are scoped to.
const (
	RPID   = "cairn.test"
	Origin = "https://cairn.test"
)

// Options adjust an environment; the zero value is the default.
type Options struct {
	// NoEvidenceGate leaves the signers without the evidence gate, so a
	// test can use the cluster's coordinator directly.
	NoEvidenceGate bool
	// Clock is the time of authn, policies and custody; default Clock
	// starting at the real time.
	Clock *Clock
}

// Env is a ready custody deployment.
type Env struct {
	Service  *custody.Service
	Config   custody.Config
	Authn    *authn.Service
	Policies *policy.Engine
	// Store holds custody, policy and authn records (one bbolt file).
	Store   store.Store
	Cluster *mpctest.Cluster
	Chain   *SimChain
	Clock   *Clock
	// Admin is the bootstrapped administrator: it holds every operation.
	Admin *User

	mu      sync.Mutex
	service *custody.Service // the running one
	stop    func()           // stops service's Run
}

// User is a test identity with a registered virtual passkey.
type User struct {
	ID      string
	Passkey *authntest.Passkey
	env     *Env
}

// New builds the environment and starts the service; it stops when the
// test ends.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	env := &Env{Clock: o.Clock}
	if env.Clock == nil {
		env.Clock = NewClock(time.Now())
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "custody.db"), nil)
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	env.Store = st

	env.Authn, err = authn.New(authn.Config{Store: st, RPID: RPID, RPOrigins: []string{Origin}, Clock: env.Clock.Now})
	must(t, err)
	prices, err := policy.NewStaticPrices(
		policy.StaticPrice{Asset: "ETH", Currency: "USD", PerUnit: ETHPriceUSD, Decimals: 18},
		policy.StaticPrice{Asset: "SOL", Currency: "USD", PerUnit: SOLPriceUSD, Decimals: 9},
	)
	must(t, err)
	env.Policies, err = policy.NewEngine(policy.Config{Store: st, Prices: prices, Verifier: custody.ActionVerifier{Credentials: env.Authn}, Now: env.Clock.Now})
	must(t, err)
	env.Chain = NewSimChain(t)
	sol, err := solana.New(solana.Config{Network: solana.Devnet})
	must(t, err)
	registry, err := chains.NewRegistry(env.Chain.Chain, sol)
	must(t, err)

	var mo mpctest.Options
	if !o.NoEvidenceGate {
		// Each signer's gate records the actions it let through in a store
		// of its own, kept across the signer's restarts.
		gateDir := t.TempDir()
		gateStores := map[transport.NodeID]store.Store{}
		var gateMu sync.Mutex
		t.Cleanup(func() {
			for _, s := range gateStores {
				_ = s.Close()
			}
		})
		mo.Gate = func(node transport.NodeID) mpc.Gate {
			gateMu.Lock()
			defer gateMu.Unlock()
			gs, ok := gateStores[node]
			if !ok {
				db, err := bolt.Open(filepath.Join(gateDir, string(node)+".db"), nil)
				must(t, err)
				gs, gateStores[node] = db, db
			}
			gate, err := custody.NewEvidenceGate(custody.GateConfig{
				Credentials: env.Authn, Policies: env.Policies, Chains: registry, Clock: env.Clock.Now,
				Wallets: custody.StoreWallets(st), Store: gs,
			})
			must(t, err)
			return gate
		}
	}
	env.Cluster = mpctest.New(t, 5, mo)
	env.Config = custody.Config{
		Coordinator: env.Cluster.Coordinator, Signers: env.Cluster.Nodes(), Threshold: 3,
		Policies: env.Policies, Authn: env.Authn, Chains: registry, Store: st,
		Clock: env.Clock.Now, PollInterval: 50 * time.Millisecond,
		WebhookMinBackoff: 10 * time.Millisecond, WebhookMaxBackoff: 100 * time.Millisecond,
	}
	env.Start(t, env.Config)

	admin, err := env.Authn.CreateUser(context.Background(), authn.Employee, "admin")
	must(t, err)
	must(t, env.Service.Bootstrap(context.Background(), admin.ID))
	env.Admin = env.register(t, admin.ID)
	return env
}

// Start stops the running service, as a crash would (requests in flight
// stay as the store has them), and starts a new one on cfg over the same
// stores: a restart. The new service becomes Env.Service and runs until
// the test ends. Start does not
// resume requests itself: Run does, concurrently; call Resume to wait for
// it.
func (e *Env) Start(t testing.TB, cfg custody.Config) *custody.Service {
	t.Helper()
	e.Stop()
	svc, err := custody.New(cfg)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	e.mu.Lock()
	e.service, e.stop = svc, stop
	e.Service = svc
	e.mu.Unlock()
	return svc
}

// Stop stops the running service's Run loop.
func (e *Env) Stop() {
	e.mu.Lock()
	stop := e.stop
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// NewUser creates an employee holding a permission with ops (none: no
// permission), with a registered passkey.
func (e *Env) NewUser(t testing.TB, name string, ops ...policy.Operation) *User {
	t.Helper()
	ctx := context.Background()
	id, err := e.Authn.CreateUser(ctx, authn.Employee, name)
	must(t, err)
	if len(ops) > 0 {
		c, err := e.Policies.CreatePermission(ctx, e.Admin.ID, policy.Permission{Name: name + " operations", Operations: ops})
		must(t, err)
		if c.Status != policy.ChangeApplied {
			t.Fatalf("custodytest: permission for %s is %s", name, c.Status)
		}
		c, err = e.Policies.AssignPermission(ctx, e.Admin.ID, c.Permission.ID, id.ID)
		must(t, err)
		if c.Status != policy.ChangeApplied {
			t.Fatalf("custodytest: assignment for %s is %s", name, c.Status)
		}
	}
	return e.register(t, id.ID)
}

func (e *Env) register(t testing.TB, id string) *User {
	t.Helper()
	pk, _, err := authntest.RegisterPasskey(context.Background(), e.Authn, id, RPID, Origin)
	must(t, err)
	return &User{ID: id, Passkey: pk, env: e}
}

// Sign has u sign act with its passkey and returns the token to send.
func (u *User) Sign(t testing.TB, act custody.Action) authn.Token {
	t.Helper()
	tok, _, err := authntest.SignAction(context.Background(), u.env.Authn, u.Passkey, u.ID, act.Operation, act.Resource, act.Payload)
	must(t, err)
	return tok
}

// Actionable is a request that says what its initiator signs.
type Actionable interface {
	Action() (custody.Action, error)
}

// Do has u sign r's action and makes the call.
func Do[R Actionable, T any](t testing.TB, u *User, r R, call func(context.Context, authn.Token, R) (T, error)) (T, error) {
	t.Helper()
	act, err := r.Action()
	must(t, err)
	return call(context.Background(), u.Sign(t, act), r)
}

// Approve has u approve approval id.
func (u *User) Approve(t testing.TB, id, reason string) (*custody.Decided, error) {
	t.Helper()
	d := custody.DecisionRequest{ApprovalID: id, Reason: reason}
	return u.env.currentService().Approve(context.Background(), u.Sign(t, d.Action(policy.VoteApproved)), d)
}

// Deny has u deny approval id.
func (u *User) Deny(t testing.TB, id, reason string) (*custody.Decided, error) {
	t.Helper()
	d := custody.DecisionRequest{ApprovalID: id, Reason: reason}
	return u.env.currentService().Deny(context.Background(), u.Sign(t, d.Action(policy.VoteDenied)), d)
}

func (e *Env) currentService() *custody.Service {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.service
}

// Clock is a settable clock for authn, policies and custody.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// SimChain is go-ethereum's simulated backend with a funded faucet.
type SimChain struct {
	Backend *simulated.Backend
	Client  simulated.Client
	Chain   *evm.Chain
	faucet  *ecdsa.PrivateKey
	mu      sync.Mutex
}

// NewSimChain starts a simulated EVM chain (chain id 1337) whose faucet
// holds 1,000,000 ETH. It stops when the test ends.
func NewSimChain(t testing.TB) *SimChain {
	t.Helper()
	faucet, err := crypto.GenerateKey()
	must(t, err)
	backend := simulated.NewBackend(types.GenesisAlloc{
		crypto.PubkeyToAddress(faucet.PublicKey): {Balance: Ether(1_000_000)},
	})
	t.Cleanup(func() { _ = backend.Close() })
	net := chains.Network{Name: Network, Family: chains.EVM, ChainID: "1337", Native: chains.Asset{Symbol: "ETH", Decimals: 18}, Testnet: true}
	c, err := evm.New(evm.Config{Network: net, Client: backend.Client()})
	must(t, err)
	return &SimChain{Backend: backend, Client: backend.Client(), Chain: c, faucet: faucet}
}

// Ether is n ether in wei.
func Ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// Fund sends amount wei from the faucet to addr and mines it.
func (s *SimChain) Fund(ctx context.Context, addr string, amount *big.Int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := crypto.PubkeyToAddress(s.faucet.PublicKey)
	nonce, err := s.Client.PendingNonceAt(ctx, from)
	if err != nil {
		return err
	}
	head, err := s.Client.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	to := common.HexToAddress(addr)
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(params.GWei))
	tx, err := types.SignNewTx(s.faucet, types.LatestSignerForChainID(big.NewInt(1337)), &types.DynamicFeeTx{
		ChainID: big.NewInt(1337), Nonce: nonce, GasTipCap: big.NewInt(params.GWei), GasFeeCap: fee, Gas: 21000, To: &to, Value: amount,
	})
	if err != nil {
		return err
	}
	if err := s.Client.SendTransaction(ctx, tx); err != nil {
		return err
	}
	s.Backend.Commit()
	return nil
}

// Mine seals a block with the pending transactions.
func (s *SimChain) Mine() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Backend.Commit()
}

// Balance returns addr's balance in wei.
func (s *SimChain) Balance(ctx context.Context, addr string) (*big.Int, error) {
	return s.Client.BalanceAt(ctx, common.HexToAddress(addr), nil)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("custodytest: %v", fmt.Sprint(err))
	}
}
