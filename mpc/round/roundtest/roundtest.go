// Package roundtest drives protocol state machines in one process, without a
// transport, so protocol packages can test and benchmark their rounds and
// play a malicious party by rewriting its messages.
package roundtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/cairn-mpc/cairn/mpc/round"
)

// Party is one party's starting point: its first round and the messages that
// round's peers consume.
type Party struct {
	Round round.Round
	Out   []round.Message
}

// Network signs, routes and stores messages between parties' rounds.
type Network struct {
	keys    map[round.PartyID]ed25519.PrivateKey
	Keyring round.Keyring
	// Intercept, when set, sees every outgoing message once per recipient
	// and returns what that recipient gets in its place (nothing, the same,
	// or altered copies). A broadcast keeps To = round.Broadcast; recipient
	// says whose copy it is, so a test can equivocate.
	Intercept func(m round.Message, recipient round.PartyID) []round.Message
}

// NewNetwork makes identity keys for parties.
func NewNetwork(parties []round.PartyID) *Network {
	n := &Network{keys: map[round.PartyID]ed25519.PrivateKey{}, Keyring: round.Keyring{}}
	for _, p := range parties {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		n.keys[p], n.Keyring[p] = priv, pub
	}
	return n
}

// Run drives every party until all finish or one fails, returning each
// party's result. The first error wins; it is returned with the id of the
// party that reported it.
func (n *Network) Run(parties map[round.PartyID]Party) (map[round.PartyID]any, error) {
	ids := make([]round.PartyID, 0, len(parties))
	for id := range parties {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	cur := map[round.PartyID]round.Round{}
	type queued struct {
		to round.PartyID
		m  round.Message
	}
	var queue []queued
	route := func(out []round.Message) error {
		for _, m := range out {
			for _, to := range ids {
				if to == m.From || (!m.IsBroadcast() && m.To != to) {
					continue
				}
				deliver := []round.Message{m}
				if n.Intercept != nil {
					deliver = n.Intercept(m, to)
				}
				for _, d := range deliver {
					sealed, err := round.Seal(n.keys[d.From], d, false)
					if err != nil {
						return err
					}
					opened, _, err := round.Open(n.Keyring.Key, sealed)
					if err != nil {
						return err
					}
					queue = append(queue, queued{to: to, m: opened})
				}
			}
		}
		return nil
	}
	for _, id := range ids {
		cur[id] = parties[id].Round
		if err := route(parties[id].Out); err != nil {
			return nil, err
		}
	}
	results := map[round.PartyID]any{}
	type count struct{ bcast, direct int }
	got := map[round.PartyID]*count{}
	for _, id := range ids {
		got[id] = &count{}
	}
	for len(results) < len(ids) {
		progressed := false
		var rest []queued
		for _, q := range queue {
			r := cur[q.to]
			if r == nil || q.m.Round != r.Number() {
				rest = append(rest, q)
				continue
			}
			if err := r.Store(q.m); err != nil {
				return nil, fmt.Errorf("party %d: %w", q.to, err)
			}
			if q.m.IsBroadcast() {
				got[q.to].bcast++
			} else {
				got[q.to].direct++
			}
			progressed = true
		}
		queue = rest
		for _, id := range ids {
			r := cur[id]
			if r == nil {
				continue
			}
			if o, ok := r.(*round.Output); ok {
				results[id] = o.Result
				cur[id] = nil
				progressed = true
				continue
			}
			exp, others := r.Expect(), len(ids)-1
			if (exp.Broadcast && got[id].bcast < others) || (exp.Direct && got[id].direct < others) {
				continue
			}
			next, out, err := r.Finalize()
			if err != nil {
				return nil, fmt.Errorf("party %d: %w", id, err)
			}
			cur[id], got[id] = next, &count{}
			if err := route(out); err != nil {
				return nil, err
			}
			progressed = true
		}
		if !progressed {
			return results, fmt.Errorf("roundtest: stalled with %d of %d parties finished", len(results), len(ids))
		}
	}
	return results, nil
}
