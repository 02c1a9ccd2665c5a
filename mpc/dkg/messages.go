package dkg

import (
	"fmt"
	"slices"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Message payloads, encoded with internal/wire. The envelope around them
// binds session, round, sender and recipient, so payloads carry none of it.

// dealingMsg is the round-1 broadcast.
type dealingMsg struct {
	_                   struct{} `cbor:",toarray"`
	Commitments         [][]byte // C_{i,0} … C_{i,t−1}
	ProofR              []byte
	ProofZ              []byte
	ChainCodeCommitment []byte // h_i, 32 bytes
}

// shareMsg is a round-2 direct message: f_i(j), secret.
type shareMsg struct {
	_     struct{} `cbor:",toarray"`
	Share []byte
}

// openingMsg is the round-2 broadcast: ρ_i.
type openingMsg struct {
	_         struct{} `cbor:",toarray"`
	ChainCode []byte
}

// verdictMsg is the round-3 broadcast: the sender's view digest and its
// complaints, sorted by accused and at most one per accused. No complaints
// is the "ok".
type verdictMsg struct {
	_          struct{} `cbor:",toarray"`
	View       []byte
	Complaints []complaintMsg
}

type complaintMsg struct {
	_        struct{} `cbor:",toarray"`
	Accused  uint16
	Evidence []byte // the accused's signed round-2 envelope
}

// maxEvidence bounds one complaint's evidence. A round-2 direct envelope is
// about 200 bytes.
const maxEvidence = 4096

// dealing is a party's validated round-1 broadcast.
type dealing struct {
	commits  []curve.Point
	proofR   curve.Point
	proofZ   curve.Scalar
	ccCommit [32]byte
}

func (d *dealing) encode() ([]byte, error) {
	m := dealingMsg{
		Commitments:         make([][]byte, len(d.commits)),
		ProofR:              d.proofR.Bytes(),
		ProofZ:              d.proofZ.Bytes(),
		ChainCodeCommitment: d.ccCommit[:],
	}
	for k, c := range d.commits {
		m.Commitments[k] = c.Bytes()
	}
	return wire.Marshal(m)
}

// decodeDealing parses and checks a round-1 payload from party from,
// including its proof of knowledge. The error wraps the round sentinel.
func decodeDealing(p *params, from round.PartyID, b []byte) (*dealing, error) {
	var m dealingMsg
	if err := wire.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: round-1 payload: %w", round.ErrMalformed, err)
	}
	if len(m.Commitments) != p.t {
		return nil, fmt.Errorf("%w: commitment has %d points, threshold %d needs exactly %d", round.ErrMalformed, len(m.Commitments), p.t, p.t)
	}
	c := p.curve
	d := &dealing{commits: make([]curve.Point, 0, p.t)}
	for k, enc := range m.Commitments {
		pt, err := c.DecodePoint(enc)
		if err != nil {
			return nil, fmt.Errorf("%w: commitment %d: %w", round.ErrMalformed, k, err)
		}
		d.commits = append(d.commits, pt)
	}
	var err error
	if d.proofR, err = c.DecodePoint(m.ProofR); err != nil {
		return nil, fmt.Errorf("%w: proof commitment: %w", round.ErrMalformed, err)
	}
	if d.proofZ, err = c.DecodeScalar(m.ProofZ); err != nil {
		return nil, fmt.Errorf("%w: proof response: %w", round.ErrMalformed, err)
	}
	if len(m.ChainCodeCommitment) != len(d.ccCommit) {
		return nil, fmt.Errorf("%w: chain-code commitment is %d bytes, want %d", round.ErrMalformed, len(m.ChainCodeCommitment), len(d.ccCommit))
	}
	copy(d.ccCommit[:], m.ChainCodeCommitment)
	if !verifyPoK(c, p.session, from, d.commits, d.proofR, d.proofZ) {
		return nil, fmt.Errorf("%w: proof of knowledge of the constant term does not verify", round.ErrInvalidProof)
	}
	return d, nil
}

// decodeShare parses a round-2 direct payload and checks the share against
// the sender's commitment at x = to. The error wraps round.ErrMalformed or
// round.ErrInvalidShare.
func decodeShare(c curve.Curve, commits []curve.Point, to round.PartyID, b []byte) (curve.Scalar, error) {
	var m shareMsg
	if err := wire.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: round-2 share payload: %w", round.ErrMalformed, err)
	}
	s, err := c.DecodeScalar(m.Share)
	if err != nil {
		return nil, fmt.Errorf("%w: share: %w", round.ErrMalformed, err)
	}
	if !c.MulBase(s).Equal(evalCommitment(c, commits, to)) {
		return nil, fmt.Errorf("%w: share for party %d does not match the sender's commitment", round.ErrInvalidShare, to)
	}
	return s, nil
}

// decodeOpening parses a round-2 broadcast and checks it against the
// chain-code commitment of its sender.
func decodeOpening(p *params, from round.PartyID, ccCommit [32]byte, b []byte) ([32]byte, error) {
	var m openingMsg
	var rho [32]byte
	if err := wire.Unmarshal(b, &m); err != nil {
		return rho, fmt.Errorf("%w: round-2 opening payload: %w", round.ErrMalformed, err)
	}
	if len(m.ChainCode) != len(rho) {
		return rho, fmt.Errorf("%w: chain-code contribution is %d bytes, want %d", round.ErrMalformed, len(m.ChainCode), len(rho))
	}
	copy(rho[:], m.ChainCode)
	if chainCodeCommitment(p.curve, p.session, from, rho) != ccCommit {
		return rho, fmt.Errorf("%w: chain-code contribution does not open its round-1 commitment", round.ErrInvalidProof)
	}
	return rho, nil
}

// verdict is a party's validated round-3 broadcast.
type verdict struct {
	view       [32]byte
	complaints []complaint
}

type complaint struct {
	accused  round.PartyID
	evidence []byte
}

func (v *verdict) encode() ([]byte, error) {
	m := verdictMsg{View: v.view[:], Complaints: make([]complaintMsg, len(v.complaints))}
	for i, c := range v.complaints {
		m.Complaints[i] = complaintMsg{Accused: uint16(c.accused), Evidence: c.evidence}
	}
	return wire.Marshal(m)
}

// decodeVerdict parses a round-3 payload from party from. It checks the form
// of the complaints, not their merit, which round 3 judges once it has all.
func decodeVerdict(p *params, from round.PartyID, b []byte) (*verdict, error) {
	var m verdictMsg
	if err := wire.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: round-3 payload: %w", round.ErrMalformed, err)
	}
	v := &verdict{}
	if len(m.View) != len(v.view) {
		return nil, fmt.Errorf("%w: view digest is %d bytes, want %d", round.ErrMalformed, len(m.View), len(v.view))
	}
	copy(v.view[:], m.View)
	if len(m.Complaints) > p.others() {
		return nil, fmt.Errorf("%w: %d complaints among %d parties", round.ErrMalformed, len(m.Complaints), len(p.parties))
	}
	for i, c := range m.Complaints {
		accused := round.PartyID(c.Accused)
		switch {
		case accused == from || !p.isMember(accused):
			return nil, fmt.Errorf("%w: complaint against party %d", round.ErrMalformed, c.Accused)
		case i > 0 && m.Complaints[i-1].Accused >= c.Accused:
			return nil, fmt.Errorf("%w: complaints not sorted by accused, or repeated", round.ErrMalformed)
		case len(c.Evidence) == 0 || len(c.Evidence) > maxEvidence:
			return nil, fmt.Errorf("%w: complaint evidence is %d bytes", round.ErrMalformed, len(c.Evidence))
		}
		v.complaints = append(v.complaints, complaint{accused: accused, evidence: slices.Clone(c.Evidence)})
	}
	return v, nil
}
