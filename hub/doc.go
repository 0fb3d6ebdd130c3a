// Package hub is the consortium's server: it admits signed releases from
// member labs into the content store, computes merges, and serves every byte
// by CID. Domain code (admission, merges, the release index) takes and
// returns Go types; server.go alone speaks gRPC and maps errors to codes.
package hub
