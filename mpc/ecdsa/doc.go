// Package ecdsa is threshold ECDSA on secp256k1: DKLs23 (Doerner, Kondi,
// Lee and shelat, "Threshold ECDSA in Three Rounds", eprint 2023/765), with
// the pairwise multiplications of packages ot and rvole. Design reference:
// design/ecdsa-dkls23.md.
//
// Key generation (NewKeygen) is the DKG of package dkg followed by a
// pairwise setup (NewSetup): base OTs for every ordered pair in both
// directions and zero-sharing seeds. The result is a KeyShare.
package ecdsa
