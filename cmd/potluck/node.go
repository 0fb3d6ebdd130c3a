package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/potluck-hub/potluck/internal/hashcache"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

func nodeCmd() *cobra.Command {
	c := &cobra.Command{Use: "node", Short: "A lab's commands: keys, publishing, pulling"}
	c.AddCommand(nodeKeygenCmd(), nodeRegisterBaseCmd(), nodePublishCmd(), nodePullCmd(), nodeMergeCmd(), nodeJobCmd(),
		nodeApplyCmd(), nodeAttestCmd(), nodeAttestationsCmd())
	return c
}

// progressTo reports upload/download progress: a bar on a terminal,
// plain lines otherwise, nothing when quiet.
func progressTo(w io.Writer, verb string, quiet bool) node.Progress {
	return node.NewProgress(w, verb, quiet)
}

// stepProgress reports a local step's progress (hashing, computing a
// delta, a recompute's pulls) as a bar on a terminal, and not at all in
// logs and pipes, where the transfer lines already say how far it is.
func stepProgress(w io.Writer, verb string, quiet bool) node.Progress {
	if f, ok := w.(*os.File); quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return node.NewProgress(w, verb, false)
}

// resumeFlag registers --resume, which continues an upload session.
func resumeFlag(c *cobra.Command, id *string) {
	c.Flags().StringVar(id, "resume", "", "continue the upload session with this id (printed when an upload fails resumably); the files must be the same")
}

// uploadOptions: progress on stderr unless quiet, resuming a session when
// asked, and the session's id told (unless quiet) so a failed upload can be
// resumed by a later run.
func uploadOptions(cmd *cobra.Command, resume string, quiet bool) node.UploadOptions {
	o := node.UploadOptions{Progress: progressTo(cmd.ErrOrStderr(), "sent", quiet), ResumeID: resume,
		Hashed: stepProgress(cmd.ErrOrStderr(), "hashed", quiet), Hashes: hashCache()}
	if !quiet {
		o.OnSession = func(id string) {
			fmt.Fprintf(cmd.ErrOrStderr(), "  upload session %s (resume with --resume %s)\n", id, id)
		}
	}
	return o
}

// trustedKeys loads --trust keys, or, if none were given, takes the hub's
// own key and its members' keys from the hub.
func trustedKeys(cmd *cobra.Command, paths []string, client *node.Client) ([]*signing.PublicKey, error) {
	if len(paths) == 0 {
		info, err := client.Info(cmd.Context())
		if err != nil {
			return nil, err
		}
		return info.TrustedKeys(), nil
	}
	var keys []*signing.PublicKey
	for _, p := range paths {
		k, err := signing.LoadPublicKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// hashCache opens the hash cache ($POTLUCK_CACHE_DIR, else the user's cache
// folder's potluck/hashes) that lets a publication skip reading files
// hashed before; nil when it is turned off ($POTLUCK_CACHE_DIR=off) or
// cannot be opened, which costs only the reading.
func hashCache() *hashcache.Cache {
	dir, err := hashcache.DefaultDir()
	if err != nil {
		return nil
	}
	c, err := hashcache.Open(dir)
	if err != nil {
		return nil
	}
	return c
}
