// Package evm is the chains adapter for Ethereum and EVM networks, on
// go-ethereum.
//
// It builds EIP-1559 (type 2) and legacy EIP-155 (type 0) transactions
// moving the native coin or an ERC-20 token, with nonce, gas and fees from
// a Client (an *ethclient.Client), and signs EIP-191 personal messages and
// EIP-712 typed data. Keys are secp256k1 ECDSA keys; signatures are 65 bytes
// R‖S‖V and must recover to the wallet's address before a transaction or a
// message signature is returned.
//
// The payload of a chains.Unsigned is the transaction's EIP-2718 encoding
// with an empty signature. Decode accepts only what this adapter builds: a
// native transfer with empty calldata, or transfer(address,uint256) on a
// configured token with no value attached; anything else is
// chains.ErrUnsupported, so a policy engine never sees a contract call
// described as a transfer.
//
// Networks lists the networks known by chain id; New takes any other EVM
// network too.
package evm
