// Package safetensors reads and writes Hugging Face safetensors files a tensor at a
// time, so that multi-gigabyte models can be inspected, merged and served without
// ever holding a whole file in memory.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON naming each
// tensor's dtype, shape and byte range, then the raw tensor data. The header is
// treated as hostile input: ReadHeader enforces the same layout rules as the
// reference implementation (tensors tile the data section exactly, with no gaps,
// overlaps or trailing bytes), and every format error wraps ErrInvalid.
package safetensors
