// Package store keeps release files content-addressed so that every byte the
// hub serves can be checked with standard IPFS tools.
//
// A file's CID is exactly what `ipfs add --cid-version=1` gives (256 KiB
// chunks, raw leaves, balanced DAG of 174 links), and a directory's root CID
// what `ipfs add -r --cid-version=1` gives; boxo's own layout builds the DAG
// while a pipeline reads the chunks, hashes them (each chunk's leaf and the
// file's SHA-256 in one pass where the CPU has the SHA extensions) and
// writes them to staging (with direct I/O where the file system has it).
// Each file is kept whole, one object in a Backend (local disk, or MinIO/S3
// through store/s3), so a merge reads a tensor with one range read; beside
// it a small sidecar object holds the UnixFS interior nodes and the size of
// each raw leaf, and a local embedded database (pebble) indexes the
// sidecars. A raw leaf is served by reading the file at its offset and
// re-hashing it. That stores each byte once and costs about 2 MB of sidecar
// per 10 GB of files.
//
// A receiver that writes a file itself (the hub's upload sessions) hashes
// its bytes as they come (Hasher) and has the store adopt the complete file
// as it is (AddFile: a hard link into staging, the DAG laid out from the
// hashed leaves), so staging it reads and writes no byte again.
//
// The store also speaks blocks (Blockstore, for the IPFS gateway) and CAR
// (ExportCAR, ImportCAR), and reclaims what no pin reaches (GC).
package store
