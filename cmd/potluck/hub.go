package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/potluck-hub/potluck/hub"
)

func hubCmd() *cobra.Command {
	c := &cobra.Command{Use: "hub", Short: "Run a consortium hub"}
	c.AddCommand(hubServeCmd(), hubTokenCmd(), hubYankCmd(), hubMembersCmd(), hubJobsCmd(), hubUnpinCmd(), hubKeysCmd())
	return c
}

// defaultDataDir is the hub's data folder under the user's data directory
// (XDG_DATA_HOME, else ~/.local/share).
func defaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "potluck", "hub")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "potluck", "hub")
	}
	return "potluck-hub"
}

// serveFlags are hub serve's settings beyond the store's.
type serveFlags struct {
	listen, httpAddr, members string
	config                    string
	printConfig               bool
	tls                       hub.TLSOptions
	plaintext                 bool
	httpPlaintext             bool
	access                    hub.Access
	maxNormRatio              float64
	maxZeroBaseRMS            float64
	cosine                    hub.Screening
	logLevel, logFormat       string
	shutdownTimeout           time.Duration
	uploadTTL                 time.Duration
	mergeWorkers              int
	limits                    hub.Limits
	cpuProfile                string
}

func (f *serveFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML file of settings, one key per flag name (listen: 0.0.0.0:7420); flags given here win")
	fs.BoolVar(&f.printConfig, "print-config", false, "print the effective settings as a config file and exit")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:7420", "gRPC listen address")
	fs.StringVar(&f.httpAddr, "http", "127.0.0.1:7421", "HTTP listen address (health, metrics, release index, log, IPFS gateway); empty to disable")
	fs.StringVar(&f.members, "members", "", "members file (YAML or JSON; default DATA/members.yaml)")
	fs.StringVar(&f.tls.CertFile, "tls-cert", "", "TLS certificate (PEM) of the gRPC listener (default: DATA/tls.crt, self-signed, made on first start)")
	fs.StringVar(&f.tls.KeyFile, "tls-key", "", "key of --tls-cert")
	fs.StringVar(&f.tls.ClientCAFile, "client-ca", "", "require client certificates issued by these CAs (PEM): mutual TLS; a certificate whose common name is a member org authenticates as it")
	fs.StringSliceVar(&f.tls.Hosts, "tls-host", nil, "extra DNS names or IPs for the generated certificate")
	fs.BoolVar(&f.plaintext, "plaintext", false, "serve gRPC and HTTP without TLS (only behind a TLS-terminating proxy)")
	fs.BoolVar(&f.httpPlaintext, "http-plaintext", false, "serve the HTTP listener without TLS (e.g. for an in-cluster metrics scraper) while gRPC keeps it")
	fs.BoolVar(&f.access.RequireToken, "require-token", true, "uploads and merges need a member org's bearer token (or client certificate)")
	fs.BoolVar(&f.access.MembersOnlyReads, "members-only-reads", false, "reads (gRPC and HTTP) need a member's token too")
	fs.Float64Var(&f.maxNormRatio, "max-norm-ratio", hub.DefaultMaxNormRatio, "refuse a delta tensor whose norm exceeds this many times its base tensor's; 0 turns the check off")
	fs.Float64Var(&f.maxZeroBaseRMS, "max-zero-base-rms", hub.DefaultMaxZeroBaseRMS, "over a base tensor of norm 0, refuse a delta (or merge) whose root mean square there exceeds this")
	fs.BoolVar(&f.cosine.Cosine, "cosine-screen", false, "refuse a delta whose cosine similarity with the mean of the deltas already published for its base is below --min-cosine")
	fs.Float64Var(&f.cosine.MinCosine, "min-cosine", 0, "with --cosine-screen: the least cosine similarity admitted")
	fs.IntVar(&f.cosine.MinPeers, "cosine-min-peers", 2, "with --cosine-screen: how many published deltas the check needs before it applies")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug (every call), info, warn, error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", hub.DefaultShutdownTimeout, "on SIGTERM, how long calls in flight may take to finish before they are cancelled (resumable upload sessions are kept)")
	fs.DurationVar(&f.uploadTTL, "upload-ttl", hub.DefaultUploadTTL, "how long an idle resumable upload session is kept before its staging is reclaimed")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the hub (go tool pprof) to this file, until it stops")
	fs.IntVar(&f.mergeWorkers, "merge-workers", hub.DefaultMergeWorkers, "how many merge jobs run at once; the others wait, queued")
	// Limits: each refusal names its flag; a negative value turns one off.
	fs.IntVar(&f.limits.SessionsPerOrg, "limit-sessions-per-org", hub.DefaultSessionsPerOrg, "open upload sessions of one org")
	fs.IntVar(&f.limits.Sessions, "limit-sessions", hub.DefaultSessions, "open upload sessions of every org together")
	fs.Int64Var(&f.limits.UploadBytes, "limit-upload-bytes", hub.DefaultUploadBytes, "bytes one upload may declare (never more than the data folder's free space)")
	fs.IntVar(&f.limits.JobsPerOrg, "limit-jobs-per-org", hub.DefaultJobsPerOrg, "queued and running merge jobs of one org")
	fs.IntVar(&f.limits.RecipeModels, "limit-recipe-models", hub.DefaultRecipeModels, "models one recipe may list")
	fs.IntVar(&f.limits.RecipeBytes, "limit-recipe-bytes", hub.DefaultRecipeBytes, "bytes of one recipe")
	fs.Int64Var(&f.limits.HeaderBytes, "limit-header-bytes", hub.DefaultHeaderBytes, "bytes of a safetensors shard's header")
	fs.IntVar(&f.limits.VerdictsPerOrgHour, "limit-verdicts-per-org-hour", hub.DefaultVerdictsPerOrgHour, "refused-upload verdicts logged per org and hour; beyond it they are counted (potluck_verdicts_unlogged_total), not logged")
}

func (f *serveFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	o := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: text or json", f.logFormat)
}

func hubServeCmd() *cobra.Command {
	var sf storeFlags
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the hub's gRPC API and HTTP endpoints",
		Long: `Serve the hub: members publish signed deltas of registered bases over
gRPC, ask for merges and pull releases by CID. Data (the content store, the
release index and the hub's merge-signing key, made on first start) lives in
--data; with --store s3://BUCKET the files go to MinIO/S3 instead (credentials
from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or MINIO_ROOT_USER/
MINIO_ROOT_PASSWORD). Only orgs in the members file may publish, each with
its own keys and, by default, its own bearer token (potluck hub token).

gRPC speaks TLS: with no --tls-cert the hub makes a self-signed certificate
in --data on first start and prints its fingerprint, which nodes pin with
--hub-fingerprint (it is also served at HTTP /v1/tls). The HTTP listener
serves /healthz, /metrics (Prometheus), the release index, the log and the
IPFS gateway at /ipfs/CID. Every flag can be set in a --config YAML file.
SIGHUP re-reads the members file (as 'potluck hub members reload' does).`,
		Example: `  potluck hub serve --data /var/lib/potluck --members members.yaml \
    --listen 0.0.0.0:7420 --http 0.0.0.0:7421
  potluck hub serve --config /etc/potluck/hub.yaml --print-config
  potluck hub serve --store s3://potluck --s3-endpoint http://127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.config != "" {
				if err := applyConfig(cmd.Flags(), f.config); err != nil {
					return err
				}
			}
			if f.printConfig {
				return printConfig(cmd.OutOrStdout(), cmd.Flags())
			}
			logger, err := f.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			dataDir := sf.data
			if f.members == "" {
				f.members = filepath.Join(dataDir, "members.yaml")
			}
			backend, err := sf.backend(cmd.Context())
			if err != nil {
				return err
			}
			h, err := hub.Open(hub.Options{DataDir: dataDir, MembersFile: f.members, Backend: backend, Access: f.access,
				Plaintext: f.plaintext, TLS: f.tls, Screen: hub.Screening{MaxNormRatio: f.maxNormRatio, MaxZeroBaseRMS: f.maxZeroBaseRMS, Cosine: f.cosine.Cosine, MinCosine: f.cosine.MinCosine, MinPeers: f.cosine.MinPeers}, Logger: logger, UploadTTL: f.uploadTTL,
				MergeWorkers: f.mergeWorkers, Limits: f.limits})
			if err != nil {
				return err
			}
			defer h.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			l, err := hub.Listen(h, hub.ServeOptions{GRPCAddr: f.listen, HTTPAddr: f.httpAddr, HTTPPlaintext: f.httpPlaintext,
				ShutdownTimeout: f.shutdownTimeout})
			if err != nil {
				return err
			}
			fp := cmp.Or(h.Info().TLSFingerprint, "none (plaintext)")
			fmt.Fprintf(cmd.OutOrStdout(), "hub: gRPC on %s, HTTP on %s, data in %s, hub key %s, TLS fingerprint %s\n",
				l.GRPCAddr(), cmp.Or(l.HTTPURL(), "(disabled)"), dataDir, h.Info().PublicKey.Hint(), fp)
			go reloadOnHangup(ctx, h)
			stopProfile, err := startProfile(f.cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			return l.Serve(ctx)
		},
	}
	sf.register(c.Flags())
	f.register(c.Flags())
	return c
}

// reloadOnHangup re-reads the members file on each SIGHUP until ctx ends;
// the hub logs what it loaded, or why it kept the members in force.
func reloadOnHangup(ctx context.Context, h *hub.Hub) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_, _ = h.ReloadMembers() // logged by the hub either way
		}
	}
}
