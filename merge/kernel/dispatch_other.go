//go:build !amd64 || purego

package kernel

// best is generic: no assembly on this platform or with -tags purego.
const best = generic
