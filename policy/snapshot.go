package policy

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cairn-mpc/cairn/store"
)

// snapshot is the compiled set of active policies for one generation of the
// store's policy set. It is immutable once built and shared by concurrent
// evaluations.
type snapshot struct {
	generation string
	byKind     map[ActivityKind][]*compiledPolicy // ordered by policy ID
}

type compiledPolicy struct {
	Policy
	eval evaluator
}

// snapshot returns the compiled policy set as tx sees it: the cached one if
// the store's generation token still matches, else a fresh one. Tokens are
// random and never reused, so a snapshot built inside a transaction that
// later rolls back can never be mistaken for a committed one.
func (e *Engine) snapshot(tx store.Tx) (*snapshot, error) {
	gen, err := tx.Get(metaBucket, generationKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("policy: read generation: %w", err)
	}
	if s := e.snap.Load(); s != nil && s.generation == string(gen) {
		return s, nil
	}
	s := &snapshot{generation: string(gen), byKind: make(map[ActivityKind][]*compiledPolicy)}
	err = tx.ForEach(policiesBucket, nil, func(_, v []byte) error {
		p, err := decodePolicy(v)
		if err != nil {
			return err
		}
		if p.Status != Active {
			return nil
		}
		s.byKind[p.ActivityKind] = append(s.byKind[p.ActivityKind], e.compile(p))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy: load policies: %w", err)
	}
	e.snap.Store(s)
	return s, nil
}

// compile builds a policy's evaluator. A stored policy that no longer
// compiles (say, a CEL library upgrade refuses an old expression) triggers
// on everything it matches: it fails closed.
func (e *Engine) compile(p Policy) *compiledPolicy {
	ev, err := p.Rule.compile(&e.compiler)
	if err != nil {
		e.log.Error("policy: stored policy does not compile; it will always trigger",
			slog.String("policy", p.ID), slog.Any("error", err))
		ev = brokenEval{reason: "Policy does not compile (" + err.Error() + "); failing closed"}
	}
	return &compiledPolicy{Policy: p, eval: ev}
}

type brokenEval struct{ reason string }

func (b brokenEval) evaluate(*evalState) (bool, string, error) { return true, b.reason, nil }
