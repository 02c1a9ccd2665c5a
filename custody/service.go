package custody

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/custody/events"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/transport"
)

// Coordinator runs the threshold ceremonies; *mpc.Coordinator implements it.
type Coordinator interface {
	GenerateKey(ctx context.Context, spec mpc.KeySpec) (*mpc.KeyInfo, error)
	Sign(ctx context.Context, r mpc.SignRequest) (*mpc.Signature, error)
}

// PolicyEngine is what custody asks of policies, approvals and permissions;
// *policy.Engine implements it, and an integrator may plug their own.
type PolicyEngine interface {
	Bootstrap(ctx context.Context, firstUser string) error
	Check(ctx context.Context, identity string, op policy.Operation) error
	Submit(ctx context.Context, a policy.Activity) (policy.Decision, error)
	Decide(ctx context.Context, r policy.DecideRequest) (policy.Approval, error)
	Approval(ctx context.Context, id string) (policy.Approval, error)
	PendingApprovals(ctx context.Context) ([]policy.Approval, error)
	ExpireApprovals(ctx context.Context) ([]policy.Approval, error)

	Policies(ctx context.Context) ([]policy.Policy, error)
	CreatePolicy(ctx context.Context, initiator string, p policy.Policy) (policy.Change, error)
	UpdatePolicy(ctx context.Context, initiator string, p policy.Policy) (policy.Change, error)
	ArchivePolicy(ctx context.Context, initiator, id string) (policy.Change, error)
	Permissions(ctx context.Context) ([]policy.Permission, error)
	CreatePermission(ctx context.Context, initiator string, p policy.Permission) (policy.Change, error)
	AssignPermission(ctx context.Context, initiator, permissionID, identity string) (policy.Change, error)
	RevokePermission(ctx context.Context, initiator, permissionID, identity string) (policy.Change, error)
}

// Authenticator verifies signed user actions and knows credentials;
// *authn.Service implements it.
type Authenticator interface {
	VerifyAction(ctx context.Context, tok authn.Token, operation, resource string, payload []byte) (*authn.Evidence, error)
	Credential(ctx context.Context, id []byte) (*authn.Credential, error)
}

// Config wires a Service. Coordinator, Signers, Threshold, Policies, Authn,
// Chains and Store are required; every other zero value selects the default
// its comment gives.
type Config struct {
	Coordinator Coordinator
	// Signers hold the shares of every new wallet's key; Threshold of them
	// sign.
	Signers   []transport.NodeID
	Threshold int
	Policies  PolicyEngine
	Authn     Authenticator
	Chains    *chains.Registry
	// Store holds wallets, requests, the audit log and the webhook outbox.
	// It may be the store policy and authn use (the buckets are distinct).
	Store store.Store

	// Presignatures is how many ECDSA presignatures Run keeps ready for
	// each ECDSA wallet, when the Coordinator can presign (*mpc.Coordinator
	// can): a transfer then needs the signers' one online round instead of
	// three. Zero keeps none.
	Presignatures int

	// Confirmations a transaction needs to be Confirmed; default 1.
	Confirmations uint64
	// PollInterval is how often Run checks broadcast transactions and
	// expires approvals; default 2 s.
	PollInterval time.Duration
	// HTTPClient delivers webhooks; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// WebhookMinBackoff and WebhookMaxBackoff bound webhook retries;
	// defaults 1 s and 5 min.
	WebhookMinBackoff, WebhookMaxBackoff time.Duration
	// Clock is the time; default time.Now.
	Clock func() time.Time
	// Logger gets metadata (ids, statuses), never evidence or secrets;
	// default discards.
	Logger *slog.Logger
}

// Service is the custody service: the request path of DESIGN.md over a
// coordinator, a policy engine, authn and chain adapters, with an audit log
// and events. It is safe for concurrent use. One Service drives a store at a
// time: two services over one store would both resume its open requests.
type Service struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	audit  *audit.Log
	events *events.Bus

	mu   sync.Mutex
	busy map[string]chan struct{} // requests being driven, closed when released

	presigning sync.Mutex
}

// Store buckets.
const (
	bucketWallets   = "custody/wallets"   // wallet id → Wallet JSON
	bucketRequests  = "custody/requests"  // request id → Request JSON
	bucketOpen      = "custody/open"      // request id → "" while not final
	bucketExternal  = "custody/external"  // kind \x00 external id → request id
	bucketApprovals = "custody/approvals" // approval id → request id
)

// New checks cfg and returns a service. Call Run to resume interrupted
// requests, track broadcast transactions, expire approvals and deliver
// webhooks.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Coordinator == nil:
		return nil, fmt.Errorf("%w: config: no coordinator", ErrInvalid)
	case len(cfg.Signers) == 0 || cfg.Threshold < 1 || cfg.Threshold > len(cfg.Signers):
		return nil, fmt.Errorf("%w: config: threshold %d of %d signers", ErrInvalid, cfg.Threshold, len(cfg.Signers))
	case cfg.Policies == nil:
		return nil, fmt.Errorf("%w: config: no policy engine", ErrInvalid)
	case cfg.Authn == nil:
		return nil, fmt.Errorf("%w: config: no authenticator", ErrInvalid)
	case cfg.Chains == nil:
		return nil, fmt.Errorf("%w: config: no chains registry", ErrInvalid)
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: config: no store", ErrInvalid)
	}
	if cfg.Confirmations == 0 {
		cfg.Confirmations = 1
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	al, err := audit.New(audit.Config{Store: cfg.Store, Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	// Webhook retries and signature timestamps run on real time: a
	// receiver checks the timestamp against its own clock, and a test's
	// frozen Clock must not stop deliveries.
	bus, err := events.New(events.Config{
		Store: cfg.Store, HTTPClient: cfg.HTTPClient, Logger: log,
		MinBackoff: cfg.WebhookMinBackoff, MaxBackoff: cfg.WebhookMaxBackoff,
	})
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, log: log, now: cfg.Clock, audit: al, events: bus, busy: map[string]chan struct{}{}}, nil
}

// Run resumes the requests a restart interrupted, then until ctx ends
// delivers webhooks and, every PollInterval, expires approvals and tracks
// broadcast transactions. It returns ctx's error.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.events.Run(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("custody: webhook delivery stopped", "err", err)
		}
	}()
	defer wg.Wait()
	if err := s.Resume(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("custody: resuming requests", "err", err)
	}
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := s.Poll(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("custody: poll", "err", err)
			}
			if err := s.FillPresignatures(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("custody: presignatures", "err", err)
			}
		}
	}
}

// Presigner is a Coordinator that makes ECDSA presignatures ahead of the
// message; *mpc.Coordinator implements it.
type Presigner interface {
	Presign(ctx context.Context, keyID string, n int) (int, error)
	PresignCount(ctx context.Context, keyID string) (int, error)
}

// FillPresignatures fills every ECDSA wallet's presignature pool to
// Config.Presignatures; Run calls it every PollInterval.
func (s *Service) FillPresignatures(ctx context.Context) error {
	p, ok := s.cfg.Coordinator.(Presigner)
	if !ok || s.cfg.Presignatures <= 0 {
		return nil
	}
	s.presigning.Lock() // two fillers would both see a pool short
	defer s.presigning.Unlock()
	ws, err := s.Wallets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, w := range ws {
		if w.PublicKey.Scheme != chains.ECDSA {
			continue
		}
		have, err := p.PresignCount(ctx, w.KeyID)
		if err == nil && have < s.cfg.Presignatures {
			_, err = p.Presign(ctx, w.KeyID, s.cfg.Presignatures-have)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("custody: presigning for wallet %s: %w", w.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Events returns the event bus: subscribe in process, or add webhooks.
func (s *Service) Events() *events.Bus { return s.events }

// Bootstrap makes firstUser the full administrator of an empty deployment
// (policy.Engine.Bootstrap), and records it in the audit log.
func (s *Service) Bootstrap(ctx context.Context, firstUser string) error {
	if err := s.cfg.Policies.Bootstrap(ctx, firstUser); err != nil {
		return err
	}
	_, err := s.audit.AppendNow(ctx, audit.Record{Kind: "admin.bootstrapped", Actor: "system", Subject: firstUser})
	return err
}

// verified is a user action that passed authn and the permission check.
type verified struct {
	principal string
	evidence  []byte
}

// authorize walks the first two steps of the path: the user action, then
// the permission. Both refusals are audited.
func (s *Service) authorize(ctx context.Context, tok authn.Token, act Action, op policy.Operation) (*verified, error) {
	v, err := s.authenticate(ctx, tok, act)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Policies.Check(ctx, v.principal, op); err != nil {
		s.auditRefusal(ctx, v.principal, act, v.evidence, err)
		return nil, fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return v, nil
}

// authenticate verifies (and spends) the user action; a refusal is logged.
func (s *Service) authenticate(ctx context.Context, tok authn.Token, act Action) (*verified, error) {
	ev, err := s.cfg.Authn.VerifyAction(ctx, tok, act.Operation, act.Resource, act.Payload)
	if err != nil {
		// Logged, not audited: the audit log holds what identified users
		// did, and an unauthenticated caller must not be able to grow it.
		s.log.Warn("custody: user action refused", "operation", act.Operation, "resource", act.Resource, "err", err)
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	evb, err := ev.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("custody: encoding evidence: %w", err)
	}
	return &verified{principal: ev.Principal, evidence: evb}, nil
}

func (s *Service) auditRefusal(ctx context.Context, actor string, act Action, evidence []byte, cause error) {
	details, _ := json.Marshal(map[string]string{"operation": act.Operation, "resource": act.Resource, "reason": cause.Error()})
	r := audit.Record{Kind: "action.refused", Actor: actor, Subject: act.Resource, Details: details}
	if evidence != nil {
		r.Evidence = [][]byte{evidence}
	}
	if _, err := s.audit.AppendNow(ctx, r); err != nil {
		s.log.Error("custody: audit append failed", "kind", r.Kind, "err", err)
	}
}

// newID returns a time-ordered id: prefix, the time in hex nanoseconds,
// then 8 random bytes.
func (s *Service) newID(prefix string) string {
	var r [8]byte
	if _, err := io.ReadFull(rand.Reader, r[:]); err != nil {
		panic(fmt.Sprintf("custody: crypto/rand failed: %v", err))
	}
	return fmt.Sprintf("%s_%016x%s", prefix, s.now().UnixNano(), hex.EncodeToString(r[:]))
}

func hashOf(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// acquire waits until no other goroutine drives request id, then claims
// it: one goroutine at a time drives a request. Call the returned release
// when done.
func (s *Service) acquire(ctx context.Context, id string) (release func(), err error) {
	for {
		s.mu.Lock()
		done, busy := s.busy[id]
		if !busy {
			done = make(chan struct{})
			s.busy[id] = done
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.busy, id)
				s.mu.Unlock()
				close(done)
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func getJSON(tx store.Tx, bucket, key string, v any) error {
	b, err := tx.Get(bucket, []byte(key))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("custody: %s/%s: %w: %w", bucket, key, store.ErrCorrupt, err)
	}
	return nil
}

func putJSON(tx store.Tx, bucket, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("custody: encode %s: %w", bucket, err)
	}
	return tx.Put(bucket, []byte(key), b)
}

func notFound(err error, what error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %q", what, id)
	}
	return err
}
