//go:build !amd64 || purego

package store

// fusedHashing is off: chunks' leaves are hashed on every core with
// crypto/sha256 (pipeline), the file's digest by the importer.
var fusedHashing = false

func blocks2(a, b *[8]uint32, p []byte) { blocks2Generic(a, b, p) }

// useSHANI is never set here.
var useSHANI = false
