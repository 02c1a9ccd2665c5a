package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// Config configures an Engine. Only Store is required.
type Config struct {
	// Store persists policies, approvals, changes, permissions and the
	// velocity history. Required.
	Store store.Store
	// Prices values assets for the value rules. Nil means no price source:
	// every value rule triggers (fails closed).
	Prices PriceSource
	// Verifier checks the signed user action behind each approval
	// decision. Nil means decisions are refused with ErrEvidence.
	Verifier ActionVerifier
	// Now is the clock. Nil means time.Now. Tests inject a fake.
	Now func() time.Time
	// Logger receives the engine's records. Nil means they are discarded.
	Logger *slog.Logger
}

// Engine is the policy engine: it keeps policies, evaluates activities
// against them, runs approvals and change requests, and holds permissions.
// It is safe for concurrent use, and several engines may share one store.
//
// Engine methods do not check the caller's permissions (custody does that,
// with Check, before calling them), except Decide for approval groups open
// to anyone holding Policies:Approvals:Decide.
type Engine struct {
	st       store.Store
	prices   PriceSource
	verifier ActionVerifier
	now      func() time.Time
	log      *slog.Logger
	compiler compiler
	snap     atomic.Pointer[snapshot]
}

// NewEngine returns an engine over cfg.Store.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, invalid("Config.Store", "is nil")
	}
	e := &Engine{
		st:       cfg.Store,
		prices:   cfg.Prices,
		verifier: cfg.Verifier,
		now:      cfg.Now,
		log:      cfg.Logger,
		compiler: compiler{programs: &programCache{}},
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Policy returns the policy with id, active or archived.
func (e *Engine) Policy(ctx context.Context, id string) (Policy, error) {
	var p Policy
	err := e.view(ctx, "read policy", func(tx store.Tx) (err error) {
		p, err = getPolicy(tx, id)
		return err
	})
	return p, err
}

// Policies returns every policy, archived ones included, ordered by ID.
func (e *Engine) Policies(ctx context.Context) ([]Policy, error) {
	var ps []Policy
	err := e.view(ctx, "list policies", func(tx store.Tx) (err error) {
		ps, err = listRecords(tx, policiesBucket, nil, decodePolicy)
		return err
	})
	return ps, err
}

// Change returns the change with id.
func (e *Engine) Change(ctx context.Context, id string) (Change, error) {
	var c Change
	err := e.view(ctx, "read change", func(tx store.Tx) (err error) {
		c, err = getChange(tx, id)
		return err
	})
	return c, err
}

// view runs fn in a read transaction. fn's own error is returned as it is;
// an error of the store itself (closed, context done) is wrapped with what.
func (e *Engine) view(ctx context.Context, what string, fn func(store.Tx) error) error {
	var fnErr error
	err := e.st.View(ctx, func(tx store.Tx) error { fnErr = fn(tx); return fnErr })
	return storeError(what, err, fnErr)
}

// update is view's read-write twin; fn's writes commit only if it returns
// nil.
func (e *Engine) update(ctx context.Context, what string, fn func(store.Tx) error) error {
	var fnErr error
	err := e.st.Update(ctx, func(tx store.Tx) error { fnErr = fn(tx); return fnErr })
	return storeError(what, err, fnErr)
}

func storeError(what string, err, fnErr error) error {
	if err == nil || (fnErr != nil && errors.Is(err, fnErr)) {
		return err
	}
	return fmt.Errorf("policy: %s: %w", what, err)
}

// clock returns the current time without its monotonic reading, in UTC, so
// that times compare equal before and after a store round trip.
func (e *Engine) clock() time.Time { return e.now().Round(0).UTC() }
