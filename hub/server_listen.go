package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
)

// DefaultShutdownTimeout is how long `hub serve` lets calls in flight
// finish on shutdown unless told otherwise.
const DefaultShutdownTimeout = 30 * time.Second

// ServeOptions say where a hub listens and how it stops.
type ServeOptions struct {
	// GRPCAddr is the gRPC listener's host:port (port 0 picks a free one).
	GRPCAddr string
	// HTTPAddr is the HTTP listener's (see HTTPHandler); empty serves no
	// HTTP.
	HTTPAddr string
	// HTTPPlaintext serves HTTP without TLS while gRPC keeps it (for an
	// in-cluster metrics scraper, say). Otherwise HTTP speaks TLS with the
	// gRPC listener's certificate, unless the hub is plaintext.
	HTTPPlaintext bool
	// ShutdownTimeout is how long calls in flight may take to finish once
	// Serve's context is done before they are cancelled; 0 cancels them at
	// once.
	ShutdownTimeout time.Duration
}

// Listeners are a hub's open gRPC listener and, optionally, its HTTP one,
// ready to serve.
type Listeners struct {
	h       *Hub
	o       ServeOptions
	grpc    net.Listener
	http    net.Listener // nil when HTTP is off
	httpURL string
}

// Listen opens the listeners o names for h. Serve them next: Serve closes
// them when it returns.
func Listen(h *Hub, o ServeOptions) (*Listeners, error) {
	gl, err := net.Listen("tcp", o.GRPCAddr)
	if err != nil {
		return nil, err
	}
	l := &Listeners{h: h, o: o, grpc: gl}
	if o.HTTPAddr == "" {
		return l, nil
	}
	hl, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		gl.Close()
		return nil, err
	}
	l.http, l.httpURL = hl, "http://"+hl.Addr().String()
	if t := h.TLS(); t != nil && !o.HTTPPlaintext {
		// Client certificates are verified when given, never required, so
		// health checks and scrapers need none.
		cfg := t.Config.Clone()
		if cfg.ClientCAs != nil {
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
		cfg.NextProtos = []string{"h2", "http/1.1"}
		l.http, l.httpURL = tls.NewListener(hl, cfg), "https://"+hl.Addr().String()
	}
	return l, nil
}

// GRPCAddr is the gRPC listener's address.
func (l *Listeners) GRPCAddr() string { return l.grpc.Addr().String() }

// HTTPURL is the HTTP listener's URL (https://host:port, or http:// when
// plaintext); empty when HTTP is off.
func (l *Listeners) HTTPURL() string { return l.httpURL }

// Serve serves the hub's gRPC API, and its HTTP endpoints when they have a
// listener, until ctx is done or a listener fails; then it stops them
// gracefully: new calls are refused and calls in flight get
// ShutdownTimeout to finish before they are cancelled. Nothing
// half-written becomes visible: resumable upload sessions are kept (Close
// the hub to checkpoint them) and merge scratch space is discarded.
func (l *Listeners) Serve(ctx context.Context) error {
	logger := l.h.logger
	g := NewGRPCServer(l.h, transportOptions()...)
	errc := make(chan error, 2)
	go func() { errc <- g.Serve(l.grpc) }()
	var hs *http.Server
	httpAt := "(disabled)"
	if l.http != nil {
		httpAt = l.httpURL
		hs = &http.Server{Handler: HTTPHandler(l.h), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() { errc <- hs.Serve(l.http) }()
	}
	logger.Info("serving", "grpc", l.GRPCAddr(), "http", httpAt, "tls_fingerprint", l.h.Info().TLSFingerprint)
	var err error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "grace", l.o.ShutdownTimeout)
	case err = <-errc:
		logger.Error("listener failed", "error", err)
	}
	stopAll(g, hs, l.o.ShutdownTimeout)
	logger.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}

// stopAll stops both servers, letting calls in flight finish for up to
// grace.
func stopAll(g *grpc.Server, hs *http.Server, grace time.Duration) {
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		hs.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		g.Stop()
	}
}

// ReceiveWindow is the HTTP/2 flow-control window the hub grants each
// connection and each stream: how many bytes a client may send ahead of
// what the hub has consumed. gRPC's default starts at 64 KiB and grows
// only as fast as its round-trip estimate allows; an upload of 4 MiB
// chunks then waits on window updates after every few frames. 8 MiB (two
// chunks) lets the next chunk travel while the hub writes the last one;
// measured on loopback with TLS (2 cores), one stream of 4 MiB messages
// went from 250-320 MB/s to 350-460 MB/s. It bounds what one connection
// can make the hub buffer to 8 MiB.
const ReceiveWindow = 8 << 20

// transportOptions are the gRPC server's transport settings.
func transportOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.InitialWindowSize(ReceiveWindow), grpc.InitialConnWindowSize(ReceiveWindow)}
}
