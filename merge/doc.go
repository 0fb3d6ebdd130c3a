// Package merge combines a base model and deltas into a new model, tensor by
// tensor and chunk by chunk, so memory grows with the chunk size and never
// with the model's. Output bytes depend only on the inputs and the recipe:
// every method sums its inputs in a fixed order, in float32, with no fused
// multiply-add (each product is rounded to float32 before it is added), so
// a later SIMD kernel can reproduce them bit for bit.
package merge
