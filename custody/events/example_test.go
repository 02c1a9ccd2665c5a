package events_test

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/cairn-mpc/cairn/custody/events"
)

// A webhook receiver: verify the signature on the raw body before parsing
// it, dedupe on the event id, acknowledge quickly.
func ExampleVerify() {
	secret := []byte("the webhook's secret, 16+ bytes")
	http.HandleFunc("/cairn-events", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, events.MaxEventSize+1))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		err = events.Verify(secret, r.Header.Get(events.SignatureHeader), body, time.Now(), 0)
		switch {
		case errors.Is(err, events.ErrStale):
			http.Error(w, "stale", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Store body under r.Header.Get("Cairn-Event-Id") as a unique key
		// (a redelivery finds it there and is only acknowledged), process
		// it after answering.
		w.WriteHeader(http.StatusNoContent)
	})
}
