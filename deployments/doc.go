// Package deployments holds no code: its tests check the Dockerfile, the
// Docker Compose file and the Kubernetes manifests beside it, and start the
// hub binary as each of them starts it (command line, environment, user,
// mounted files) against a real MinIO, so CI runs them without a Docker
// engine or a cluster.
package deployments
