// Package deployments holds no code: its tests parse the Docker Compose
// file and the Kubernetes manifests beside it, so CI checks them without a
// Docker engine or a cluster.
package deployments
