// Package node is a lab's side of Potluck: it turns a fine-tuned checkpoint
// into a signed delta, uploads releases to a hub in chunks, and pulls
// releases back, checking every byte against its CID and signature before
// the directory appears (and keeps them in a cache, Cached); it rebuilds a
// fine-tune from a delta and the release it was made against (Apply).
package node
