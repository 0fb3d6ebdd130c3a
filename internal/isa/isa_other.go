//go:build !amd64 || purego

package isa

// Best is Generic: no assembly on this platform or with -tags purego.
const Best = Generic
