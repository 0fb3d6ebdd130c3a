package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	cid "github.com/ipfs/go-cid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/store/s3"
)

// storeFlags choose a hub's store: its data folder (the local index and
// staging, and the files too unless --store names a bucket).
type storeFlags struct {
	data, store, endpoint, region string
	retain                        time.Duration
}

func (f *storeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.data, "data", defaultDataDir(), "hub data folder (store index and staging; the files too without --store)")
	fs.StringVar(&f.store, "store", "", "keep files in a MinIO/S3 bucket: s3://BUCKET[/PREFIX] (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or MINIO_ROOT_USER/MINIO_ROOT_PASSWORD)")
	fs.StringVar(&f.endpoint, "s3-endpoint", "", "S3 endpoint, http://HOST:PORT or https://HOST (default $AWS_ENDPOINT_URL)")
	fs.StringVar(&f.region, "s3-region", "", "S3 region (default $AWS_REGION)")
	fs.DurationVar(&f.retain, "s3-retain", 0, "keep every object under governance object lock this long, e.g. 8760h (a new bucket is made with object lock; GC then only hides objects until their lock expires)")
}

// backend returns the bucket backend --store names, or nil for local disk.
// Credentials come from the environment here, never in the libraries.
func (f *storeFlags) backend(ctx context.Context) (store.Backend, error) {
	if f.store == "" {
		return nil, nil
	}
	u, err := url.Parse(f.store)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("--store %q: want s3://BUCKET[/PREFIX]", f.store)
	}
	endpoint := firstEnv(f.endpoint, "AWS_ENDPOINT_URL", "MINIO_ENDPOINT")
	if endpoint == "" {
		return nil, fmt.Errorf("--store %s needs --s3-endpoint (or AWS_ENDPOINT_URL)", f.store)
	}
	secure := !strings.HasPrefix(endpoint, "http://")
	endpoint = strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return s3.New(ctx, s3.Options{
		Endpoint: strings.TrimSuffix(endpoint, "/"), Bucket: u.Host, Prefix: prefix, Secure: secure,
		Region:       firstEnv(f.region, "AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKey:    firstEnv("", "AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY", "MINIO_ROOT_USER"),
		SecretKey:    firstEnv("", "AWS_SECRET_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_ROOT_PASSWORD"),
		SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
		CreateBucket: true,
		RetainFor:    f.retain,
	})
}

// heldStore is a hub's store opened by an offline command, which holds
// the data folder until Close, as a running hub does.
type heldStore struct {
	*store.Store
	lock *hub.DataLock
}

func (s *heldStore) Close() error { return errors.Join(s.Store.Close(), s.lock.Release()) }

// open holds the data folder for the command (a running hub's refuses,
// naming its PID) and opens its store (DATA/store, as hub serve does).
func (f *storeFlags) open(ctx context.Context, holder string) (*heldStore, error) {
	b, err := f.backend(ctx)
	if err != nil {
		return nil, err
	}
	lock, err := hub.LockData(f.data, holder)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(f.data, "store"), store.Options{Backend: b})
	if err != nil {
		lock.Release()
		return nil, err
	}
	return &heldStore{Store: st, lock: lock}, nil
}

func firstEnv(v string, names ...string) string {
	for _, n := range names {
		if v != "" {
			return v
		}
		v = os.Getenv(n)
	}
	return v
}

func storeCmd() *cobra.Command {
	c := &cobra.Command{Use: "store", Short: "Work on a hub's content store while the hub is stopped"}
	c.AddCommand(storeAddCmd(), storeGCCmd(), storeUnpinCmd())
	return c
}

func storeAddCmd() *cobra.Command {
	var f storeFlags
	c := &cobra.Command{
		Use:   "add PATH",
		Short: "Import a file or a model directory into a hub's store and print its CID",
		Long: `Import a file, or a model directory (as 'ipfs add -r --cid-version=1'
would, hidden files skipped), into a hub's store without the hub running, and
print its CID. The root is pinned, so GC keeps it. For operators seeding a hub
with base models; stop the hub first (it holds its data folder while it
runs, and the command says so, naming its PID).`,
		Example: `  potluck store add ./Llama-3.1-8B --data /var/lib/potluck
  potluck store add ./base --store s3://potluck --s3-endpoint http://127.0.0.1:9000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := f.open(ctx, "potluck store add")
			if err != nil {
				return err
			}
			defer st.Close()
			root, err := addPath(ctx, st.Store, args[0])
			if err != nil {
				return err
			}
			if err := st.Pin(ctx, root); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), root)
			return nil
		},
	}
	f.register(c.Flags())
	return c
}

// addPath imports a file, or a directory tree file by file.
func addPath(ctx context.Context, st *store.Store, p string) (cid.Cid, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return cid.Undef, err
	}
	add := func(p string) (store.FileInfo, error) {
		r, err := os.Open(p)
		if err != nil {
			return store.FileInfo{}, err
		}
		defer r.Close()
		s, err := st.Add(r)
		if err != nil {
			return store.FileInfo{}, fmt.Errorf("%s: %w", p, err)
		}
		return s.Info, s.Commit(ctx)
	}
	if !fi.IsDir() {
		info, err := add(p)
		return info.CID, err
	}
	entries, err := store.WalkDir(p, add)
	if err != nil {
		return cid.Undef, err
	}
	return st.PutDir(ctx, entries)
}

func storeGCCmd() *cobra.Command {
	var f storeFlags
	var grace time.Duration
	c := &cobra.Command{
		Use:   "gc",
		Short: "Reclaim stored files that no release or pin reaches",
		Long: `Remove every stored file and directory that no release of the hub and no
pin (potluck store add, car import) reaches, and what interrupted imports left.
Run it with the hub stopped: it needs no members file, and runs no merge job
(queued ones wait for the hub).`,
		Example: `  potluck store gc --data /var/lib/potluck`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := f.openHub(cmd.Context(), "potluck store gc")
			if err != nil {
				return err
			}
			defer h.Close()
			gc, err := h.GC(cmd.Context(), grace)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d files, %d directories, %d leftovers: %d bytes\n", gc.Files, gc.Dirs, gc.Orphans, gc.Bytes)
			return nil
		},
	}
	f.register(c.Flags())
	c.Flags().DurationVar(&grace, "grace", time.Hour, "spare anything written more recently than this")
	return c
}

func storeUnpinCmd() *cobra.Command {
	var f storeFlags
	c := &cobra.Command{
		Use:   "unpin CID",
		Short: "Drop a release nothing refers to; the next gc reclaims it",
		Long: `Drop a release from the hub so that the next 'potluck store gc' reclaims its
files. Refused while a delta or merge builds on it, a merge took it as an
input, or the hub's log records it, unless it was yanked: a yanked release's
log entries stay, but no longer hold its bytes. On a running hub, use
'potluck hub unpin' with an operator's token.`,
		Example: `  potluck store unpin bafybei... --data /var/lib/potluck && potluck store gc --data /var/lib/potluck`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := f.openHub(cmd.Context(), "potluck store unpin")
			if err != nil {
				return err
			}
			defer h.Close()
			return h.Unpin(cmd.Context(), args[0])
		},
	}
	f.register(c.Flags())
	return c
}

// openHub opens the hub's data folder for offline work (hub.Options
// Maintenance): no members file, no TLS, no merge job run; holder is what
// a hub started meanwhile is told holds the folder.
func (f *storeFlags) openHub(ctx context.Context, holder string) (*hub.Hub, error) {
	b, err := f.backend(ctx)
	if err != nil {
		return nil, err
	}
	return hub.Open(hub.Options{DataDir: f.data, Backend: b, Maintenance: true, Holder: holder})
}
