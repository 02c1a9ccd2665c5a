// Package events carries custody's events to in-process subscribers and to
// webhooks.
//
// # Two paths
//
// An event is written to the outbox with Enqueue, inside the store
// transaction that makes the state change it reports, so the event exists
// exactly when the change commits: a transaction that fails leaves no
// event, and a committed one cannot lose its event to a crash. After the
// commit the caller calls Publish, which hands the event to in-process
// subscribers (best effort: a subscriber whose buffer is full misses it,
// and the miss is counted) and wakes the delivery worker, Run. Without the
// wake-up the worker still finds the delivery, within 30 seconds.
//
// # Delivery contract
//
// Run POSTs each outbox delivery to its webhook's URL with the event as the
// JSON body ({"id", "type", "time", "subject", "data"}, Content-Type
// application/json) and these headers:
//
//	Cairn-Event-Id:   the event's id
//	Cairn-Event-Type: the event's type
//	Cairn-Signature:  t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
//
// A 2xx answer is an acknowledgement: the delivery leaves the outbox. Any
// other answer (the default client does not follow redirects, so a 3xx is
// one), a transport error or a timeout is a failure, retried. Delivery is at
// least once: a crash between the receiver's answer and the outbox update, a
// receiver that answers after the timeout, or a request abandoned when Run
// stops (not counted as an attempt) yields a second delivery of the same
// event, so receivers dedupe on Cairn-Event-Id. A receiver should answer 2xx
// as soon as it has stored the event and process it afterwards.
//
// Deliveries to one webhook are made one at a time, in the order their
// events were enqueued; a failing delivery holds back the later ones to the
// same webhook until it succeeds or is dead-lettered (the usual failure is
// an endpoint that is down, for which keeping the order costs nothing). So
// an event a receiver keeps refusing holds back its webhook for up to
// MaxAge; Pending shows it. Webhooks do not wait for one another.
//
// # Signature
//
// Receivers check each request with Verify, on the raw body, before
// parsing it. The signed string binds the timestamp to the body; Verify
// compares in constant time and refuses a timestamp further than its
// tolerance from now (five minutes by default), which bounds replays, and
// the event id dedupes what remains. The header may carry several v1
// elements (any one matching is enough) and elements of other schemes,
// which Verify ignores.
//
// # Retry policy
//
// After the n-th failed attempt the next one is scheduled after
// min(MinBackoff·2^(n-1), MaxBackoff), jittered uniformly down to half of
// that (defaults: 1 s doubling to 5 min). The attempt count, the next
// attempt time and the last error are persisted, so a restarted Run resumes
// the schedule. A delivery still failing MaxAge (default 72 h) after it was
// enqueued is dead-lettered at its next failure: it leaves the outbox and
// stays in the store, listed by Pending with Dead set.
//
// # Secrets
//
// A webhook's secret is stored as given, in the Store passed to New; a
// deployment that must keep it encrypted at rest gives New a store that
// seals its records. Webhooks returns webhooks without their secrets, and
// the logger receives metadata only (webhook and event ids, types,
// attempts, status codes), never secrets, signatures, URLs or bodies.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

var (
	// ErrInvalid is returned for a webhook, an event or a configuration that
	// cannot be used; nothing is stored.
	ErrInvalid = errors.New("events: invalid")
	// ErrExists is returned (wrapped together with ErrInvalid) by AddWebhook
	// for an id already in use.
	ErrExists = errors.New("events: webhook id already exists")
	// ErrNotFound is returned by RemoveWebhook for an unknown id.
	ErrNotFound = errors.New("events: no such webhook")
	// ErrRunning is returned by Run when the Bus is already running.
	ErrRunning = errors.New("events: Run already running on this Bus")
)

// Event is something that happened in custody, as subscribers and webhooks
// receive it. Its JSON encoding is the webhook request body.
type Event struct {
	// ID is unique per event, assigned by the caller; receivers dedupe on
	// it.
	ID string `json:"id"`
	// Type is "request.pending", "request.approved", "wallet.created", …
	Type string `json:"type"`
	// Time is when it happened; Enqueue sets the zero time to now. It is
	// sent in UTC.
	Time time.Time `json:"time"`
	// Subject is the id of the request or wallet the event is about.
	Subject string `json:"subject,omitempty"`
	// Data is the object as custody presents it: valid JSON, or empty.
	Data json.RawMessage `json:"data,omitempty"`
}

// Webhook is an HTTP endpoint that receives events.
type Webhook struct {
	// ID names the webhook: 1 to 128 characters among letters, digits and
	// "-_.:".
	ID string
	// URL is an absolute http or https URL. It is trusted configuration:
	// requests go wherever it points.
	URL string
	// Secret is the HMAC-SHA256 key of the signatures, 16 to 1024 bytes. It
	// is stored as given (see the package documentation).
	Secret []byte
	// Types lists the event types the webhook receives; empty means all.
	Types []string
}

// String describes w without its secret.
func (w Webhook) String() string {
	return fmt.Sprintf("webhook %s (%d event types)", w.ID, len(w.Types))
}

// GoString describes w without its secret, for %#v.
func (w Webhook) GoString() string { return w.String() }

// LogValue logs w's id only.
func (w Webhook) LogValue() slog.Value { return slog.StringValue(w.ID) }

func (w Webhook) wants(typ string) bool {
	if len(w.Types) == 0 {
		return true
	}
	for _, t := range w.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// Delivery is one event on its way to one webhook, as Pending lists it.
type Delivery struct {
	// Webhook is the id of the webhook it goes to.
	Webhook string
	// Seq is the event's position in the outbox; deliveries to a webhook
	// are made in Seq order.
	Seq uint64
	// Event is the event it carries.
	Event Event
	// Enqueued is when Enqueue wrote it; MaxAge counts from here.
	Enqueued time.Time
	// Attempts is the number of failed attempts so far.
	Attempts int
	// NextAttempt is when it is due; zero for a dead letter.
	NextAttempt time.Time
	// LastError describes the last failure: an HTTP status or a transport
	// error, never the URL or the response body.
	LastError string
	// Dead is set once it has been given up on (dead-lettered).
	Dead bool
}

// Attempt is the outcome of one delivery attempt, as Config.Attempted
// receives it.
type Attempt struct {
	// Delivery is the delivery's state after the attempt, as persisted.
	// Attempts counts this attempt if it failed.
	Delivery Delivery
	// Delivered is set if the webhook answered 2xx.
	Delivered bool
	// Status is the HTTP status of the answer, 0 if there was none.
	Status int
}

// Config configures New.
type Config struct {
	// Store holds the webhooks and the outbox, in buckets of their own
	// (named "events.*"). Required.
	Store store.Store
	// HTTPClient sends the webhook requests. Nil means a client with a 10 s
	// timeout that does not follow redirects.
	HTTPClient *http.Client
	// Clock returns the current time. Nil means time.Now.
	Clock func() time.Time
	// Logger receives metadata about deliveries. Nil means no logging.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between attempts (see the
	// package documentation). Zero means 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
	// MaxAge is how long after enqueueing a failing delivery is retried
	// before it is dead-lettered. Zero means 72 h.
	MaxAge time.Duration
	// Attempted, if set, is called after each delivery attempt once its
	// outcome is persisted, from the worker's goroutines (concurrently for
	// different webhooks). It must not block; it suits metrics and alerts.
	Attempted func(Attempt)
}

// Defaults of Config.
const (
	DefaultHTTPTimeout = 10 * time.Second
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultMaxAge      = 72 * time.Hour
)

// Bus is the events hub of one custody service. It is safe for concurrent
// use.
type Bus struct {
	st         store.Store
	client     *http.Client
	clock      func() time.Time
	log        *slog.Logger
	minB, maxB time.Duration
	maxAge     time.Duration
	attempted  func(Attempt)

	wake    chan struct{}
	running atomic.Bool

	subMu   sync.RWMutex
	subs    map[*subscriber]struct{}
	dropped atomic.Uint64
}

// New returns a Bus over cfg.Store. It does not start delivering: call Run.
func New(cfg Config) (*Bus, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: config: no store", ErrInvalid)
	}
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxAge < 0 {
		return nil, fmt.Errorf("%w: config: negative duration", ErrInvalid)
	}
	b := &Bus{
		st:        cfg.Store,
		client:    cfg.HTTPClient,
		clock:     cfg.Clock,
		log:       cfg.Logger,
		minB:      cfg.MinBackoff,
		maxB:      cfg.MaxBackoff,
		maxAge:    cfg.MaxAge,
		attempted: cfg.Attempted,
		wake:      make(chan struct{}, 1),
		subs:      map[*subscriber]struct{}{},
	}
	if b.client == nil {
		b.client = &http.Client{
			Timeout: DefaultHTTPTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if b.clock == nil {
		b.clock = time.Now
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.minB == 0 {
		b.minB = DefaultMinBackoff
	}
	if b.maxB == 0 {
		b.maxB = max(DefaultMaxBackoff, b.minB)
	}
	if b.maxB < b.minB {
		return nil, fmt.Errorf("%w: config: MaxBackoff %v below MinBackoff %v", ErrInvalid, b.maxB, b.minB)
	}
	if b.maxAge == 0 {
		b.maxAge = DefaultMaxAge
	}
	return b, nil
}

func (b *Bus) now() time.Time { return b.clock().UTC() }

// signal wakes the delivery worker, if it sleeps; it never blocks.
func (b *Bus) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// checkCtx returns ctx's error, so calls on a finished context do nothing.
func checkCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}
