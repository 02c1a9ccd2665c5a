package custody

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cairn-mpc/cairn/store"
)

// Request returns the request with id, or ErrNotFound.
func (s *Service) Request(ctx context.Context, id string) (*Request, error) {
	var r Request
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error { return getJSON(tx, bucketRequests, id, &r) }); err != nil {
		return nil, notFound(err, ErrNotFound, id)
	}
	return &r, nil
}

// RequestFilter selects requests; zero fields select everything.
type RequestFilter struct {
	WalletID  string
	Status    Status
	Initiator string
}

// Requests lists the requests that match f, oldest first.
func (s *Service) Requests(ctx context.Context, f RequestFilter) ([]*Request, error) {
	var out []*Request
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(bucketRequests, nil, func(_, v []byte) error {
			var r Request
			if err := jsonUnmarshal(v, &r); err != nil {
				return err
			}
			if (f.WalletID == "" || r.WalletID == f.WalletID) && (f.Status == "" || r.Status == f.Status) && (f.Initiator == "" || r.Initiator == f.Initiator) {
				out = append(out, &r)
			}
			return nil
		})
	})
	return out, err
}

func (s *Service) openRequests(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(bucketOpen, nil, func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, err
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("custody: %w: %w", store.ErrCorrupt, err)
	}
	return nil
}
