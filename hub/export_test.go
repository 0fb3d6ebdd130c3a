package hub

// SetFault makes h fail at a step of its commit path (intent.go) with the
// error f returns for it (nil: no fault there); nil clears it. Set it
// while no release is being recorded.
func SetFault(h *Hub, f func(step string) error) {
	h.recordMu.Lock()
	defer h.recordMu.Unlock()
	h.fault = f
}
