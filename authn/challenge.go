package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// Challenge is what a ceremony asks the client to sign. It is single-use:
// the call that completes the ceremony deletes it in the transaction that
// records the result, and it is refused after ExpiresAt.
type Challenge struct {
	// ID names the challenge in the call that completes the ceremony.
	ID string
	// Challenge is the bytes to sign: the WebAuthn challenge for passkeys,
	// the challenge member of KeyClientData for key credentials. For an
	// action it is Binding.Challenge().
	Challenge Base64URL
	ExpiresAt time.Time
	// Options is the JSON to hand to navigator.credentials.create() (for a
	// registration or recovery) or navigator.credentials.get() (for a login
	// or an action), {"publicKey":{…}}; nil when no passkey can answer.
	Options json.RawMessage
	// AllowCredentials lists the credentials that may answer, empty for a
	// discoverable login.
	AllowCredentials []Base64URL
	// Binding is what an action challenge commits to; nil otherwise.
	Binding *Binding
}

const challengeSize = 32

// newChallengeID returns a fresh random challenge id.
func newChallengeID() string { return "ch-" + strings.ToLower(rand.Text()) }

// maxChallengeIDSize caps a challenge id before it is looked up.
const maxChallengeIDSize = 64

// takeChallenge loads challenge id for ceremony c, refuses it if expired,
// and deletes it, all within tx: if the caller's transaction fails the
// challenge survives, if it commits the challenge is spent.
func (s *Service) takeChallenge(tx store.Tx, id string, c ceremony) (*challengeRecord, error) {
	if id == "" || len(id) > maxChallengeIDSize {
		return nil, fmt.Errorf("%w: malformed challenge id", ErrUnknownChallenge)
	}
	rec, err := get[challengeRecord](tx, bucketChallenges, []byte(id), fmt.Errorf("%w: %s", ErrUnknownChallenge, id))
	if err != nil {
		return nil, err
	}
	if rec.Ceremony != c {
		return nil, fmt.Errorf("%w: %s is a %s challenge, not a %s one", ErrUnknownChallenge, id, rec.Ceremony, c)
	}
	if !s.now().Before(fromNanos(rec.ExpiresAt)) {
		return nil, fmt.Errorf("%w: %s expired at %s", ErrChallengeExpired, id, fromNanos(rec.ExpiresAt).Format(time.RFC3339))
	}
	if err := tx.Delete(bucketChallenges, []byte(id)); err != nil {
		return nil, fmt.Errorf("authn: spending challenge: %w", err)
	}
	return rec, nil
}

// sameChallenge compares challenges in constant time.
func sameChallenge(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// challengeFor makes the exported view of a stored challenge.
func challengeFor(rec *challengeRecord, options json.RawMessage, allow []*credentialRecord) *Challenge {
	ch := &Challenge{
		ID:        rec.ID,
		Challenge: rec.Challenge,
		ExpiresAt: fromNanos(rec.ExpiresAt),
		Options:   options,
	}
	for _, c := range allow {
		ch.AllowCredentials = append(ch.AllowCredentials, c.ID)
	}
	if rec.Binding != nil {
		b := rec.Binding.binding()
		ch.Binding = &b
	}
	return ch
}
