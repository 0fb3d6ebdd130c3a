package hub

import (
	"fmt"
	"net/http"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/gateway"
	"github.com/prometheus/client_golang/prometheus"
)

// GatewayHandler serves the hub's releases as an IPFS HTTP gateway at
// /ipfs/CID, read-only, straight from the store: the trustless responses
// (?format=raw, ?format=car with dag-scope and entity-bytes) that any IPFS
// client verifies, and plain file bytes (with Range) for curl. Every block
// it sends was re-hashed against its CID on the way out of the store, so
// bytes altered on disk or in the bucket end the response instead.
func GatewayHandler(h *Hub) http.Handler {
	bsvc := blockservice.New(h.store.Blockstore(), nil) // offline: this store only
	backend, err := gateway.NewBlocksBackend(bsvc)
	if err != nil {
		// Only bad backend options fail, and we pass none.
		panic(fmt.Sprintf("hub: gateway backend: %v", err))
	}
	return gateway.NewHandler(gateway.Config{
		DeserializedResponses: true,
		// A registry per handler: the process-wide default would refuse a
		// second hub in one process (tests).
		MetricsRegistry: prometheus.NewRegistry(),
	}, backend)
}
