// Package hub is the consortium's server: it admits signed releases from
// member labs into the content store, computes merges, and serves every byte
// by CID. Domain code (admission, merges, the release index) takes and
// returns Go types; the server*.go files alone speak gRPC, and toStatus maps
// errors to codes. Uploads are resumable sessions staged under DATA/uploads
// (session.go) and admitted whole at commit (resume.go, upload.go).
package hub
