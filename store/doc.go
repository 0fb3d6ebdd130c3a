// Package store keeps release files content-addressed so that every byte the
// hub serves can be checked with standard IPFS tools.
//
// A file's CID is exactly what `ipfs add --cid-version=1` gives (256 KiB
// chunks, raw leaves, balanced DAG of 174 links), and a directory's root CID
// what `ipfs add -r --cid-version=1` gives. Each file is kept whole on disk
// (so a merge reads a tensor with one range read), beside a small embedded
// database holding only the UnixFS interior nodes and an index of where each
// raw leaf lies; a raw leaf is served by reading the file at its offset and
// re-hashing it. That stores each byte once and costs about 2 MB of sidecar
// per 10 GB of files.
package store
