package events

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/store"
)

// Store layout. Records are wire (CBOR) encodings of the types below, each
// with a format number. An outbox or dead-letter key is the webhook id, a
// NUL (ids cannot contain one) and the event's sequence number, 8 bytes
// big-endian, so one webhook's deliveries are contiguous and in order.
const (
	bucketWebhooks = "events.webhooks"
	bucketOutbox   = "events.outbox"
	bucketDead     = "events.dead"
	bucketMeta     = "events.meta"

	recordFormat = 1
)

var keySeq = []byte("seq")

// Limits on what is stored.
const (
	maxIDLen     = 128
	maxURLLen    = 2048
	minSecretLen = 16
	maxSecretLen = 1024
	maxTypes     = 64
	maxTypeLen   = 128
	// MaxEventSize bounds an event's JSON encoding (the request body).
	MaxEventSize = 256 << 10
)

type webhookRecord struct {
	Format  uint32   `cbor:"1,keyasint"`
	ID      string   `cbor:"2,keyasint"`
	URL     string   `cbor:"3,keyasint"`
	Secret  []byte   `cbor:"4,keyasint"`
	Types   []string `cbor:"5,keyasint,omitempty"`
	Created int64    `cbor:"6,keyasint"`
}

type deliveryRecord struct {
	Format    uint32 `cbor:"1,keyasint"`
	Webhook   string `cbor:"2,keyasint"`
	Seq       uint64 `cbor:"3,keyasint"`
	EventID   string `cbor:"4,keyasint"`
	Type      string `cbor:"5,keyasint"`
	Time      int64  `cbor:"6,keyasint"` // unix nanoseconds
	Subject   string `cbor:"7,keyasint,omitempty"`
	Data      []byte `cbor:"8,keyasint,omitempty"`
	Enqueued  int64  `cbor:"9,keyasint"`
	Attempts  uint32 `cbor:"10,keyasint,omitempty"`
	Next      int64  `cbor:"11,keyasint"`
	LastError string `cbor:"12,keyasint,omitempty"`
}

func (r *deliveryRecord) event() Event {
	e := Event{ID: r.EventID, Type: r.Type, Time: time.Unix(0, r.Time).UTC(), Subject: r.Subject}
	if len(r.Data) > 0 {
		e.Data = json.RawMessage(r.Data)
	}
	return e
}

func (r *deliveryRecord) delivery(dead bool) Delivery {
	d := Delivery{
		Webhook:   r.Webhook,
		Seq:       r.Seq,
		Event:     r.event(),
		Enqueued:  time.Unix(0, r.Enqueued).UTC(),
		Attempts:  int(r.Attempts),
		LastError: r.LastError,
		Dead:      dead,
	}
	if !dead {
		d.NextAttempt = time.Unix(0, r.Next).UTC()
	}
	return d
}

func outboxKey(webhook string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(webhook), 0), seq)
}

func outboxPrefix(webhook string) []byte { return append([]byte(webhook), 0) }

func decodeWebhook(raw []byte) (webhookRecord, error) {
	var r webhookRecord
	if err := wire.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("events: webhook record: %w: %w", store.ErrCorrupt, err)
	}
	if r.Format != recordFormat {
		return r, fmt.Errorf("events: webhook record format %d: %w", r.Format, store.ErrSchema)
	}
	return r, nil
}

func decodeDelivery(raw []byte) (deliveryRecord, error) {
	var r deliveryRecord
	if err := wire.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("events: delivery record: %w: %w", store.ErrCorrupt, err)
	}
	if r.Format != recordFormat {
		return r, fmt.Errorf("events: delivery record format %d: %w", r.Format, store.ErrSchema)
	}
	return r, nil
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}

func validType(t string) bool {
	if t == "" || len(t) > maxTypeLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f {
			return false
		}
	}
	return true
}

func validateWebhook(w Webhook) error {
	if !validID(w.ID) {
		return fmt.Errorf("%w: webhook id must be 1 to %d characters among letters, digits and -_.:", ErrInvalid, maxIDLen)
	}
	if len(w.URL) > maxURLLen {
		return fmt.Errorf("%w: webhook %s: URL over %d bytes", ErrInvalid, w.ID, maxURLLen)
	}
	u, err := url.Parse(w.URL)
	// The URL itself stays out of the error: it may carry credentials.
	if err != nil {
		return fmt.Errorf("%w: webhook %s: URL does not parse", ErrInvalid, w.ID)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: webhook %s: URL scheme must be http or https", ErrInvalid, w.ID)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: webhook %s: URL has no host", ErrInvalid, w.ID)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%w: webhook %s: URL has a fragment", ErrInvalid, w.ID)
	}
	if len(w.Secret) < minSecretLen || len(w.Secret) > maxSecretLen {
		return fmt.Errorf("%w: webhook %s: secret of %d bytes, want %d to %d", ErrInvalid, w.ID, len(w.Secret), minSecretLen, maxSecretLen)
	}
	if len(w.Types) > maxTypes {
		return fmt.Errorf("%w: webhook %s: %d event types, over %d", ErrInvalid, w.ID, len(w.Types), maxTypes)
	}
	for _, t := range w.Types {
		if !validType(t) {
			return fmt.Errorf("%w: webhook %s: event type %q", ErrInvalid, w.ID, t)
		}
	}
	return nil
}

// AddWebhook validates w and stores it; events enqueued from then on that
// it wants are delivered to it. The secret is stored as given (see the
// package documentation). Errors wrap ErrInvalid for a bad id, URL, secret
// or type list, and ErrInvalid and ErrExists for an id in use; in both
// cases nothing is stored.
func (b *Bus) AddWebhook(ctx context.Context, w Webhook) error {
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := validateWebhook(w); err != nil {
		return err
	}
	rec, err := wire.Marshal(webhookRecord{
		Format: recordFormat, ID: w.ID, URL: w.URL, Secret: w.Secret,
		Types: w.Types, Created: b.now().UnixNano(),
	})
	if err != nil {
		return fmt.Errorf("events: webhook %s: %w", w.ID, err)
	}
	err = b.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Get(bucketWebhooks, []byte(w.ID))
		switch {
		case err == nil:
			return fmt.Errorf("%w: %w: %s", ErrInvalid, ErrExists, w.ID)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return tx.Put(bucketWebhooks, []byte(w.ID), rec)
	})
	if err != nil {
		return fmt.Errorf("events: adding webhook %s: %w", w.ID, err)
	}
	b.log.Info("events: webhook added", "webhook", w.ID, "types", len(w.Types))
	return nil
}

// RemoveWebhook deletes the webhook and its undelivered deliveries (its
// dead letters stay, for the record). An attempt already in flight may
// still reach it. Errors wrap ErrNotFound for an unknown id.
func (b *Bus) RemoveWebhook(ctx context.Context, id string) error {
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if !validID(id) {
		return fmt.Errorf("events: removing webhook: %w", ErrNotFound)
	}
	dropped := 0
	err := b.st.Update(ctx, func(tx store.Tx) error {
		dropped = 0
		if _, err := tx.Get(bucketWebhooks, []byte(id)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		var keys [][]byte
		if err := tx.ForEach(bucketOutbox, outboxPrefix(id), func(k, _ []byte) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(bucketOutbox, k); err != nil {
				return err
			}
		}
		dropped = len(keys)
		return tx.Delete(bucketWebhooks, []byte(id))
	})
	if err != nil {
		return fmt.Errorf("events: removing webhook %s: %w", id, err)
	}
	b.log.Info("events: webhook removed", "webhook", id, "undelivered_dropped", dropped)
	return nil
}

// Webhooks lists the webhooks by id, with their secrets left out.
func (b *Bus) Webhooks(ctx context.Context) ([]Webhook, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	var out []Webhook
	err := b.st.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		return tx.ForEach(bucketWebhooks, nil, func(_, v []byte) error {
			r, err := decodeWebhook(v)
			if err != nil {
				return err
			}
			out = append(out, Webhook{ID: r.ID, URL: r.URL, Types: r.Types})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("events: listing webhooks: %w", err)
	}
	return out, nil
}

// Enqueue writes one outbox delivery of e for each webhook that wants its
// type, inside tx, the caller's write transaction: the deliveries exist if
// and only if tx commits. It assigns e the next sequence number, which
// orders deliveries to each webhook. A zero e.Time is set to now. Errors
// wrap ErrInvalid for an event without id or type, with Data that is not
// JSON, or whose encoding is over MaxEventSize; the caller should then fail
// the transaction.
//
// Enqueue does not deliver: after tx commits, call Publish.
func (b *Bus) Enqueue(ctx context.Context, tx store.Tx, e Event) error {
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if e.ID == "" || len(e.ID) > maxIDLen*2 {
		return fmt.Errorf("%w: event id must be 1 to %d bytes", ErrInvalid, maxIDLen*2)
	}
	if !validType(e.Type) {
		return fmt.Errorf("%w: event %s: type %q", ErrInvalid, e.ID, e.Type)
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return fmt.Errorf("%w: event %s: data is not JSON", ErrInvalid, e.ID)
	}
	now := b.now()
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC()
	if !time.Unix(0, e.Time.UnixNano()).Equal(e.Time) {
		return fmt.Errorf("%w: event %s: time out of range", ErrInvalid, e.ID)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: event %s: %w", ErrInvalid, e.ID, err)
	}
	if len(body) > MaxEventSize {
		return fmt.Errorf("%w: event %s: %d bytes of JSON, over %d", ErrInvalid, e.ID, len(body), MaxEventSize)
	}

	var targets []string
	err = tx.ForEach(bucketWebhooks, nil, func(_, v []byte) error {
		r, err := decodeWebhook(v)
		if err != nil {
			return err
		}
		if (Webhook{Types: r.Types}).wants(e.Type) {
			targets = append(targets, r.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("events: enqueueing %s: %w", e.ID, err)
	}
	if len(targets) == 0 {
		return nil
	}
	var seq uint64
	switch raw, err := tx.Get(bucketMeta, keySeq); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("events: enqueueing %s: %w", e.ID, err)
	case len(raw) != 8:
		return fmt.Errorf("events: enqueueing %s: sequence number: %w", e.ID, store.ErrCorrupt)
	default:
		seq = binary.BigEndian.Uint64(raw)
	}
	seq++
	rec := deliveryRecord{
		Format: recordFormat, Seq: seq, EventID: e.ID, Type: e.Type,
		Time: e.Time.UnixNano(), Subject: e.Subject, Data: compactJSON(e.Data),
		Enqueued: now.UnixNano(), Next: now.UnixNano(),
	}
	for _, id := range targets {
		rec.Webhook = id
		raw, err := wire.Marshal(rec)
		if err != nil {
			return fmt.Errorf("events: enqueueing %s: %w", e.ID, err)
		}
		if err := tx.Put(bucketOutbox, outboxKey(id, seq), raw); err != nil {
			return fmt.Errorf("events: enqueueing %s: %w", e.ID, err)
		}
	}
	if err := tx.Put(bucketMeta, keySeq, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
		return fmt.Errorf("events: enqueueing %s: %w", e.ID, err)
	}
	return nil
}

// compactJSON returns data without insignificant space, as the request body
// carries it; data has been checked to be valid.
func compactJSON(data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return data
	}
	return buf.Bytes()
}

// Pending lists the deliveries not yet made: those in the outbox, then the
// dead letters (Dead set), each in (Seq, Webhook) order.
func (b *Bus) Pending(ctx context.Context) ([]Delivery, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	var live, dead []Delivery
	err := b.st.View(ctx, func(tx store.Tx) error {
		live, dead = nil, nil
		for _, bk := range []struct {
			name string
			dead bool
			out  *[]Delivery
		}{{bucketOutbox, false, &live}, {bucketDead, true, &dead}} {
			err := tx.ForEach(bk.name, nil, func(_, v []byte) error {
				r, err := decodeDelivery(v)
				if err != nil {
					return err
				}
				*bk.out = append(*bk.out, r.delivery(bk.dead))
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("events: listing deliveries: %w", err)
	}
	order := func(a, b Delivery) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Webhook, b.Webhook))
	}
	slices.SortFunc(live, order)
	slices.SortFunc(dead, order)
	return append(live, dead...), nil
}
