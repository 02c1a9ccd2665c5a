package mpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/transport"
)

// bucketCoordPresigs holds the coordinator's pool of ECDSA presignatures:
// key id/presignature id → the signers holding it. The presignatures
// themselves stay, sealed, with those signers.
const bucketCoordPresigs = "mpc/coordinator/presigs"

type poolEntry struct {
	_       struct{} `cbor:",toarray"`
	ID      []byte   // the id of the request that made it
	Signers []uint16
}

// Presign fills the pool of key keyID (an ECDSA key) with up to n
// presignatures, each made by a quorum of signers ahead of any message, so
// that Sign needs one round instead of three. It returns how many it made;
// an error says why it stopped early.
func (c *Coordinator) Presign(ctx context.Context, keyID string, n int) (int, error) {
	info, err := c.Key(ctx, keyID)
	if err != nil {
		return 0, err
	}
	if info.Scheme != ECDSA {
		return 0, fmt.Errorf("mpc: presignatures are for %s keys, not %s", ECDSA, info.Scheme)
	}
	parties := info.partyRefs()
	made := 0
	for made < n {
		quorum := c.quorum(info, nil)
		if len(quorum) < info.Threshold {
			return made, &CeremonyError{Op: "presign", KeyID: keyID, Err: ErrNoQuorum}
		}
		req := &ceremonyRequest{Op: opPresign, KeyID: info.ID, Scheme: string(info.Scheme), Threshold: uint16(info.Threshold), Parties: parties}
		nodes := make([]transport.NodeID, len(quorum))
		for i, p := range quorum {
			req.Signers = append(req.Signers, uint16(p.ID))
			nodes[i] = p.Node
		}
		var id [16]byte
		if _, err := rand.Read(id[:]); err != nil {
			return made, err
		}
		got, missing, err := c.attemptWithID(ctx, id, nodes, req)
		if err != nil {
			return made, err
		}
		if cerr := c.failures("presign", keyID, 1, got, missing, req.Parties); cerr != nil {
			c.suspectNodes(cerr)
			return made, cerr
		}
		entry, err := wire.Marshal(poolEntry{ID: id[:], Signers: req.Signers})
		if err != nil {
			return made, err
		}
		err = c.cfg.Store.Update(ctx, func(tx store.Tx) error {
			return tx.Put(bucketCoordPresigs, []byte(keyID+"/"+hex.EncodeToString(id[:])), entry)
		})
		if err != nil {
			return made, err
		}
		made++
	}
	return made, nil
}

// PresignCount reports how many presignatures the pool of a key holds.
func (c *Coordinator) PresignCount(ctx context.Context, keyID string) (int, error) {
	n := 0
	err := c.cfg.Store.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(bucketCoordPresigs, []byte(keyID+"/"), func(_, _ []byte) error { n++; return nil })
	})
	return n, err
}

// takePoolEntry removes one presignature of key from the pool, durably, and
// returns it; nil when the pool is empty. An entry is never handed out
// twice, whatever happens to the signing that uses it.
func (c *Coordinator) takePoolEntry(ctx context.Context, keyID string) (*poolEntry, error) {
	var entry *poolEntry
	err := c.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var key, val []byte
		errStop := errors.New("stop")
		err := tx.ForEach(bucketCoordPresigs, []byte(keyID+"/"), func(k, v []byte) error {
			key, val = k, v
			return errStop
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		if key == nil {
			return nil
		}
		var e poolEntry
		if err := wire.Unmarshal(val, &e); err != nil || len(e.ID) != 16 || !strings.HasPrefix(string(key), keyID+"/") {
			// A damaged entry is dropped rather than retried forever.
			return tx.Delete(bucketCoordPresigs, key)
		}
		entry = &e
		return tx.Delete(bucketCoordPresigs, key)
	})
	return entry, err
}

// signPresigned signs from the pool if it has a presignature whose signers
// all answer; it returns (nil, nil) when Sign should run the full protocol
// instead (empty pool, or the online step failed: the presignature is then
// spent, and the full protocol picks its own quorum).
func (c *Coordinator) signPresigned(ctx context.Context, info *KeyInfo, r SignRequest) (*Signature, error) {
	entry, err := c.takePoolEntry(ctx, info.ID)
	if err != nil || entry == nil {
		return nil, err
	}
	req := &ceremonyRequest{Op: opSignPresigned, KeyID: info.ID, Scheme: string(info.Scheme), Threshold: uint16(info.Threshold), Parties: info.partyRefs(), Message: r.Message, Signers: entry.Signers, Presig: entry.ID, Evidence: r.Evidence}
	var nodes []transport.NodeID
	for _, id := range entry.Signers {
		nodes = append(nodes, info.node(round.PartyID(id)))
	}
	got, missing, err := c.attempt(ctx, nodes, req)
	if err != nil {
		return nil, err
	}
	if cerr := c.failures("sign", info.ID, 1, got, missing, req.Parties); cerr != nil {
		c.log.Warn("mpc: signing from a presignature failed; running the full protocol", "key", info.ID, "err", cerr)
		c.suspectNodes(cerr)
		if errors.Is(cerr, ErrGateRefused) {
			return nil, cerr
		}
		return nil, nil
	}
	sig, ok := agreedSignature(got, nodes)
	if !ok {
		return nil, nil
	}
	return c.verified(info, info.PublicKey, r.Message, sig, nodes)
}
