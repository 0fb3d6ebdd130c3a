// Package translog is the hub's transparency log: an append-only Merkle log
// (RFC 6962 hashing, golang.org/x/mod/sumdb/tlog) of every accepted
// publication, merge, key change and admission verdict, with checkpoints in
// the C2SP signed-note format. An auditor who remembers one checkpoint can
// prove that every later one extends it, so a hub that rewrote or forked its
// history is caught; a publisher's receipt (index, inclusion proof,
// checkpoint) proves its entry is in the log.
package translog
