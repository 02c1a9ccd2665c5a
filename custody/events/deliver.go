package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/store"
)

const (
	// maxInFlight bounds concurrent attempts (to different webhooks).
	maxInFlight = 8
	// pollInterval is the longest the worker sleeps without looking at the
	// outbox, in case an enqueue was not followed by Publish.
	pollInterval = 30 * time.Second
	// attemptTimeout bounds an attempt when the HTTP client has no timeout
	// of its own.
	attemptTimeout = 30 * time.Second
	// maxDrain is how much of a response body is read (and discarded) so
	// the connection can be reused.
	maxDrain = 64 << 10
)

// Run delivers the outbox to the webhooks until ctx ends, then waits for
// the attempts in flight to stop and returns nil. An attempt cut short by
// the end of ctx is not counted; it is made again by the next Run. Run
// returns an error wrapping ErrRunning if the Bus is already running, and
// one wrapping store.ErrClosed if the store is closed under it. Other store
// errors are logged and retried.
func (b *Bus) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer b.running.Store(false)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Attempts report their webhook here when done; the buffer holds one
	// report per possible attempt, so they never block.
	done := make(chan string, maxInFlight)
	inFlight := map[string]bool{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
	drain:
		for {
			select {
			case id := <-done:
				delete(inFlight, id)
			default:
				break drain
			}
		}
		wait := pollInterval
		due, next, err := b.due(ctx, inFlight)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, store.ErrClosed):
			return fmt.Errorf("events: delivery worker: %w", err)
		case err != nil:
			b.log.Error("events: reading the outbox", "err", err)
			wait = b.minB
		}
		for _, j := range due {
			inFlight[j.hook.ID] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.attempt(ctx, j)
				done <- j.hook.ID
			}()
		}
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(b.now()), 0))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		case id := <-done:
			delete(inFlight, id)
		case <-timer.C:
		}
	}
}

type job struct {
	hook webhookRecord
	key  []byte
	rec  deliveryRecord
}

var errStop = errors.New("stop")

// due returns the deliveries to attempt now: for each webhook without an
// attempt in flight, the first of its outbox if it is due, up to the
// in-flight limit. next is the earliest time a head not returned falls due
// (zero if none).
func (b *Bus) due(ctx context.Context, inFlight map[string]bool) (jobs []job, next time.Time, err error) {
	now := b.now().UnixNano()
	err = b.st.View(ctx, func(tx store.Tx) error {
		jobs, next = nil, time.Time{}
		var hooks []webhookRecord
		if err := tx.ForEach(bucketWebhooks, nil, func(_, v []byte) error {
			r, err := decodeWebhook(v)
			if err != nil {
				return err
			}
			if !inFlight[r.ID] {
				hooks = append(hooks, r)
			}
			return nil
		}); err != nil {
			return err
		}
		slots := maxInFlight - len(inFlight)
		for _, h := range hooks {
			var head *job
			err := tx.ForEach(bucketOutbox, outboxPrefix(h.ID), func(k, v []byte) error {
				r, err := decodeDelivery(v)
				if err != nil {
					return err
				}
				head = &job{hook: h, key: k, rec: r}
				return errStop
			})
			if err != nil && !errors.Is(err, errStop) {
				return err
			}
			if head == nil {
				continue
			}
			if head.rec.Next <= now && slots > 0 {
				jobs = append(jobs, *head)
				slots--
				continue
			}
			// A due head with no free slot is picked up when an attempt
			// finishes, which wakes the worker.
			if t := time.Unix(0, head.rec.Next); head.rec.Next > now && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		return nil
	})
	return jobs, next, err
}

// attempt makes one delivery attempt and persists its outcome.
func (b *Bus) attempt(ctx context.Context, j job) {
	ev := j.rec.event()
	body, err := json.Marshal(ev)
	if err != nil {
		// Enqueue encoded the same event; this cannot happen.
		b.log.Error("events: encoding event", "event_id", ev.ID, "err", err)
		return
	}
	actx := ctx
	if b.client.Timeout == 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
	}
	status, sendErr := b.send(actx, j.hook, ev, body)
	if ctx.Err() != nil && (sendErr != nil || status/100 != 2) {
		// Cut short by the end of Run: not the webhook's failure.
		return
	}
	delivered := sendErr == nil && status/100 == 2
	failure := ""
	switch {
	case sendErr != nil:
		failure = sendErr.Error()
	case !delivered:
		failure = "HTTP " + strconv.Itoa(status)
	}

	now := b.now()
	var after deliveryRecord
	dead, gone := false, false
	// Persist even if Run is ending, so an acknowledged delivery is not
	// made again.
	err = b.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		dead, gone = false, false
		raw, err := tx.Get(bucketOutbox, j.key)
		if errors.Is(err, store.ErrNotFound) {
			gone = true // the webhook was removed meanwhile
			return nil
		}
		if err != nil {
			return err
		}
		r, err := decodeDelivery(raw)
		if err != nil {
			return err
		}
		if delivered {
			after = r
			return tx.Delete(bucketOutbox, j.key)
		}
		r.Attempts++
		r.LastError = failure
		if now.Sub(time.Unix(0, r.Enqueued)) >= b.maxAge {
			dead = true
			r.Next = 0
			enc, err := wire.Marshal(r)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketDead, j.key, enc); err != nil {
				return err
			}
			after = r
			return tx.Delete(bucketOutbox, j.key)
		}
		r.Next = now.Add(b.backoff(int(r.Attempts))).UnixNano()
		enc, err := wire.Marshal(r)
		if err != nil {
			return err
		}
		after = r
		return tx.Put(bucketOutbox, j.key, enc)
	})
	attrs := []any{"webhook", j.hook.ID, "event_id", ev.ID, "event_type", ev.Type, "seq", j.rec.Seq, "status", status}
	if err != nil {
		b.log.Error("events: recording a delivery attempt", append(attrs, "delivered", delivered, "err", err)...)
		return
	}
	if gone {
		return
	}
	switch {
	case delivered:
		b.log.Debug("events: delivered", append(attrs, "attempts", int(after.Attempts)+1)...)
	case dead:
		b.log.Error("events: delivery dead-lettered", append(attrs, "attempts", int(after.Attempts), "failure", failure)...)
	default:
		b.log.Warn("events: delivery failed, will retry", append(attrs, "attempts", int(after.Attempts),
			"failure", failure, "next_attempt", time.Unix(0, after.Next).UTC())...)
	}
	if b.attempted != nil {
		d := after.delivery(dead)
		if delivered {
			d.NextAttempt = time.Time{}
		}
		b.attempted(Attempt{Delivery: d, Delivered: delivered, Status: status})
	}
}

// send POSTs body to the webhook and returns the answer's status. Its
// errors never carry the URL.
func (b *Bus) send(ctx context.Context, h webhookRecord, ev Event, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("request: unusable URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cairn-events/1")
	req.Header.Set("Cairn-Event-Id", ev.ID)
	req.Header.Set("Cairn-Event-Type", ev.Type)
	req.Header.Set(SignatureHeader, Sign(h.Secret, b.now(), body))
	resp, err := b.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return 0, fmt.Errorf("%s: %w", http.MethodPost, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// backoff is the wait after the n-th failed attempt: MinBackoff doubled
// n-1 times, capped at MaxBackoff, jittered uniformly into [d/2, d].
func (b *Bus) backoff(n int) time.Duration {
	d := b.minB
	for i := 1; i < n && d < b.maxB; i++ {
		if d > b.maxB/2 {
			d = b.maxB
			break
		}
		d *= 2
	}
	d = min(d, b.maxB)
	half := d / 2
	return half + rand.N(d-half+1)
}
