// Package hub is the consortium's server: it admits signed releases from
// member labs into the content store, logs them in its transparency log,
// computes merges, and serves every byte by CID.
//
// Domain code (admission, merges, the release index, the log) takes and
// returns Go types. The server*.go files alone speak gRPC: the service,
// with toStatus mapping errors to codes in one place (server.go), its
// upload and log calls, its interceptors, and Listen and Serve, which run
// it beside the HTTP endpoints (http.go) and stop both gracefully.
//
// Admission is a pipeline (pipeline.go): named stages, listed per kind of
// release, each recorded in the release or its verdict and in the log.
// Uploads are resumable sessions staged under DATA/uploads (session.go):
// the stages that need no bytes run when a session opens, all of them when
// it is committed.
//
// The release index (release.go) keeps one record per release on disk and
// the release graph in memory (graph.go), which answers listings a page at
// a time (list.go) and what was built on what (lineage.go). A release is
// withdrawn openly by a logged yank (yank.go).
//
// One publication, from the command line to its log entry:
//
//	cmd/potluck/node_publish.go  Client.PublishDelta
//	node/publish.go              CheckPublish (preflight.go), node.MakeDelta, CheckPublish by CID, then Client.Upload
//	node/upload.go               StartUpload, UploadChunks (resuming), CommitUpload
//	hub/server_upload.go         each call to its Hub method
//	hub/resume.go                Hub.StartUpload opens a session, CommitUpload admits it
//	hub/pipeline.go              admit: the delta's stages in order; a refusal becomes a verdict
//	hub/upload.go                the stages up to staging the bytes; commit stores, then records
//	hub/ledger.go                record: the release's log entry first, then the index
//	translog/append.go           Append: the entry, its inclusion proof, a signed checkpoint
package hub
