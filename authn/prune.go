package authn

import (
	"context"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/store"
)

// Prune deletes expired challenges, sessions and action tokens (with the
// tombstones of consumed ones, which are only needed until their expiry to
// report replays) and returns how many records it deleted. Run it
// periodically; nothing else depends on it.
func (s *Service) Prune(ctx context.Context) (int, error) {
	now := s.now().UnixNano()
	n := 0
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		n = 0
		var expired [][]byte
		err := tx.ForEach(bucketChallenges, nil, func(k, v []byte) error {
			var rec challengeRecord
			if err := wire.Unmarshal(v, &rec); err != nil || rec.ExpiresAt <= now {
				expired = append(expired, k)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("authn: scanning challenges: %w", err)
		}
		for _, k := range expired {
			if err := tx.Delete(bucketChallenges, k); err != nil {
				return err
			}
		}
		n += len(expired)

		var sessions []*sessionRecord
		err = tx.ForEach(bucketSessions, nil, func(_, v []byte) error {
			var rec sessionRecord
			if err := wire.Unmarshal(v, &rec); err == nil && rec.ExpiresAt <= now {
				sessions = append(sessions, &rec)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("authn: scanning sessions: %w", err)
		}
		for _, rec := range sessions {
			if err := deleteSession(tx, rec); err != nil {
				return err
			}
		}
		n += len(sessions)

		var actions []*actionRecord
		err = tx.ForEach(bucketActions, nil, func(_, v []byte) error {
			var rec actionRecord
			if err := wire.Unmarshal(v, &rec); err == nil && rec.ExpiresAt <= now {
				actions = append(actions, &rec)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("authn: scanning action tokens: %w", err)
		}
		for _, rec := range actions {
			if err := deleteAction(tx, rec); err != nil {
				return err
			}
		}
		n += len(actions)
		return nil
	})
	return n, err
}
