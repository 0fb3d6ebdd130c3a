package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/potluck-hub/potluck/hub"
)

func hubCmd() *cobra.Command {
	c := &cobra.Command{Use: "hub", Short: "Run a consortium hub"}
	c.AddCommand(hubServeCmd())
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

func hubServeCmd() *cobra.Command {
	var sf storeFlags
	var listen, httpAddr, members string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the hub's gRPC API and HTTP endpoints",
		Long: `Serve the hub: members publish signed deltas of registered bases over
gRPC, ask for merges and pull releases by CID. Data (the content store, the
release index and the hub's merge-signing key, made on first start) lives in
--data; with --store s3://BUCKET the files go to MinIO/S3 instead (credentials
from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or MINIO_ROOT_USER/
MINIO_ROOT_PASSWORD). Only orgs in the members file may publish. The HTTP
listener also serves the IPFS gateway at /ipfs/CID.`,
		Example: `  potluck hub serve --data /var/lib/potluck --members members.yaml \
    --listen 127.0.0.1:7420 --http 127.0.0.1:7421
  potluck hub serve --store s3://potluck --s3-endpoint http://127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dataDir := sf.data
			if members == "" {
				members = filepath.Join(dataDir, "members.yaml")
			}
			backend, err := sf.backend(cmd.Context())
			if err != nil {
				return err
			}
			h, err := hub.Open(hub.Options{DataDir: dataDir, MembersFile: members, Backend: backend})
			if err != nil {
				return err
			}
			defer h.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, h, listen, httpAddr, func(addr, httpAt string) {
				fmt.Fprintf(cmd.OutOrStdout(), "hub: gRPC on %s, HTTP on %s, data in %s, hub key %s\n", addr, httpAt, dataDir, h.Info().PublicKey.Hint())
			})
		},
	}
	sf.register(c.Flags())
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:7420", "gRPC listen address")
	c.Flags().StringVar(&httpAddr, "http", "127.0.0.1:7421", "HTTP listen address (health, release index, log, IPFS gateway); empty to disable")
	c.Flags().StringVar(&members, "members", "", "members file (YAML or JSON; default DATA/members.yaml)")
	return c
}

// serve runs the gRPC server (and the HTTP one, when httpAddr is set) until
// ctx ends, then stops them gracefully.
func serve(ctx context.Context, h *hub.Hub, listen, httpAddr string, ready func(grpcAt, httpAt string)) error {
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	g := hub.NewGRPCServer(h)
	errc := make(chan error, 2)
	go func() { errc <- g.Serve(lis) }()
	var hs *http.Server
	httpAt := "(disabled)"
	if httpAddr != "" {
		hl, err := net.Listen("tcp", httpAddr)
		if err != nil {
			g.Stop()
			return err
		}
		httpAt = hl.Addr().String()
		hs = &http.Server{Handler: hub.HTTPHandler(h), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- hs.Serve(hl) }()
	}
	ready(lis.Addr().String(), httpAt)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopAll(g, hs)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}

func stopAll(g *grpc.Server, hs *http.Server) {
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		g.Stop()
	}
}
