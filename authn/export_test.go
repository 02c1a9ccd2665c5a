package authn

// Hooks for the fuzz targets in package authn_test, which seed them with
// real values made by authntest (which imports this package).

// ParseAssertion runs the assertion parser.
func ParseAssertion(b []byte) (credentialID []byte, isPasskey bool, err error) {
	a, err := parseAssertion(b)
	if err != nil {
		return nil, false, err
	}
	return a.credentialID, a.passkey != nil, nil
}

// ParseKeyClientData runs the key-credential client-data parser.
func ParseKeyClientData(b []byte) (ClientDataType, []byte, error) {
	cd, err := parseKeyClientData(b)
	return cd.Type, cd.Challenge, err
}

// ParseWebAuthnClientData runs the WebAuthn client-data parser.
func ParseWebAuthnClientData(b []byte) error {
	_, err := parseWebAuthnClientData(b)
	return err
}

// ParseKeyAttestation runs the key-attestation parser.
func ParseKeyAttestation(b []byte) (PublicKey, error) {
	ka, err := parseKeyAttestation(b)
	if err != nil {
		return PublicKey{}, err
	}
	return ka.publicKey, nil
}

// ParsePasskeyAttestation runs the passkey-attestation parser.
func ParsePasskeyAttestation(b []byte) error {
	_, err := parsePasskeyAttestation(b)
	return err
}

// ParseRecovery runs the recovery-request parser.
func ParseRecovery(b []byte) error {
	_, _, _, err := parseRecovery(b)
	return err
}
