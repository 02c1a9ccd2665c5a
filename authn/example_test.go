package authn_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// A user signs one request with a passkey; the server verifies the action
// token with the request, once, and keeps evidence that verifies offline.
func Example() {
	dir, err := os.MkdirTemp("", "authn-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := bolt.Open(filepath.Join(dir, "authn.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	svc, err := authn.New(authn.Config{Store: st, RPID: "example.com", RPOrigins: []string{"https://app.example.com"}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	alice, err := svc.CreateUser(ctx, authn.Employee, "alice@example.com")
	if err != nil {
		log.Fatal(err)
	}
	// In a browser: navigator.credentials.create(ch.Options) and back.
	passkey, _, err := authntest.RegisterPasskey(ctx, svc, alice.ID, "example.com", "https://app.example.com")
	if err != nil {
		log.Fatal(err)
	}

	const op, res = "Wallets:Transfers:Create", "wallets/wa-1/transfers"
	body := []byte(`{"to":"0x8ba1f109551bD432803012645Ac136ddd64DBA72","amount":"1000"}`)
	ch, err := svc.InitAction(ctx, alice.ID, op, res, body)
	if err != nil {
		log.Fatal(err)
	}
	assertion, err := passkey.Assert(ch.Options) // navigator.credentials.get(ch.Options)
	if err != nil {
		log.Fatal(err)
	}
	tok, _, err := svc.CompleteAction(ctx, ch.ID, assertion)
	if err != nil {
		log.Fatal(err)
	}

	// The request arrives with tok.
	ev, err := svc.VerifyAction(ctx, tok, op, res, body)
	fmt.Println("verified:", err == nil, ev.Principal == alice.ID)
	_, err = svc.VerifyAction(ctx, tok, op, res, body)
	fmt.Println("replay refused:", errors.Is(err, authn.ErrActionReplayed))

	// Later, offline: the evidence against the credential's public key.
	cred, err := svc.Credential(ctx, ev.CredentialID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("evidence:", ev.Verify(cred.PublicKey), ev.Binding.Matches(op, res, body))
	// Output:
	// verified: true true
	// replay refused: true
	// evidence: <nil> <nil>
}
