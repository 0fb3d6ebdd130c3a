// Package node is a lab's side of Potluck: it turns a fine-tuned checkpoint
// into a signed delta, uploads releases to a hub in chunks, and pulls
// releases back, checking every byte against its CID and signature before
// the directory appears.
package node
