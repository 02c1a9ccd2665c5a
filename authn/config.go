package authn

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cairn-mpc/cairn/store"
)

// Config configures a Service. Store, RPID and RPOrigins are required;
// every other zero value selects the default its comment gives.
type Config struct {
	// Store holds identities, credentials, challenges and tokens. Tokens
	// are stored only as SHA-256 hashes.
	Store store.Store
	// RPID is the WebAuthn relying party id, the registrable domain
	// passkeys are scoped to ("example.com"). It is also part of every
	// action binding.
	RPID string
	// RPDisplayName is shown by authenticators at registration; default
	// RPID.
	RPDisplayName string
	// RPOrigins are the origins WebAuthn client data may carry
	// ("https://app.example.com").
	RPOrigins []string
	// UserVerification is what passkey ceremonies ask of the authenticator
	// and then require; default protocol.VerificationRequired, the right
	// choice for custody: a present user is not enough, it must be the
	// user.
	UserVerification protocol.UserVerificationRequirement

	// Clock returns the current time; default time.Now. Every expiry is
	// computed from it.
	Clock func() time.Time
	// Logger receives security events (logins, refusals, revocations) with
	// identity and credential ids, never tokens, challenges or signatures;
	// default discards.
	Logger *slog.Logger

	// CeremonyTTL bounds registration, login and recovery challenges;
	// default 5 minutes.
	CeremonyTTL time.Duration
	// ActionChallengeTTL bounds the time to sign an action; default 2
	// minutes.
	ActionChallengeTTL time.Duration
	// ActionTokenTTL bounds the time between signing an action and using
	// its token; default 5 minutes.
	ActionTokenTTL time.Duration
	// SessionTTL is the lifetime of a user's session token; default 15
	// minutes.
	SessionTTL time.Duration
	// ServiceSessionTTL is the longest lifetime of a service account's
	// session token; default 1 hour.
	ServiceSessionTTL time.Duration
	// MaxPayloadSize caps the payload an action may be bound to; default
	// 1 MiB.
	MaxPayloadSize int
}

// Defaults for the zero values of Config.
const (
	DefaultCeremonyTTL        = 5 * time.Minute
	DefaultActionChallengeTTL = 2 * time.Minute
	DefaultActionTokenTTL     = 5 * time.Minute
	DefaultSessionTTL         = 15 * time.Minute
	DefaultServiceSessionTTL  = time.Hour
	DefaultMaxPayloadSize     = 1 << 20
)

// Service is Cairn's authentication: identities, credentials, sessions,
// user-action signing and recovery. It is safe for concurrent use; all
// state lives in the Store, so several Services over one Store agree.
type Service struct {
	cfg Config
	wa  *webauthn.WebAuthn
	now func() time.Time
	log *slog.Logger
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: Config.Store is required", ErrInvalidArgument)
	}
	if cfg.RPID == "" || len(cfg.RPOrigins) == 0 {
		return nil, fmt.Errorf("%w: Config.RPID and Config.RPOrigins are required", ErrInvalidArgument)
	}
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = cfg.RPID
	}
	if cfg.UserVerification == "" {
		cfg.UserVerification = protocol.VerificationRequired
	}
	defaultDuration(&cfg.CeremonyTTL, DefaultCeremonyTTL)
	defaultDuration(&cfg.ActionChallengeTTL, DefaultActionChallengeTTL)
	defaultDuration(&cfg.ActionTokenTTL, DefaultActionTokenTTL)
	defaultDuration(&cfg.SessionTTL, DefaultSessionTTL)
	defaultDuration(&cfg.ServiceSessionTTL, DefaultServiceSessionTTL)
	if cfg.MaxPayloadSize <= 0 {
		cfg.MaxPayloadSize = DefaultMaxPayloadSize
	}
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     append([]string(nil), cfg.RPOrigins...),
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: cfg.UserVerification,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, errors.Join(ErrInvalidArgument, err)
	}
	return &Service{cfg: cfg, wa: wa, now: now, log: log}, nil
}

func defaultDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}
