package deployments

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// served is a started hub as a client finds it.
type served struct {
	grpc, http  string      // host addresses of container ports 7420, 7421
	trust       *tls.Config // what a client trusts: the hub's certificate or its CA
	fingerprint string      // the leaf's SHA-256, as labs pin it
}

// fingerprintLine ends what hub serve prints once it serves.
var fingerprintLine = regexp.MustCompile(`TLS fingerprint ([0-9a-f]{64})\n`)

// checkServing waits for the hub to start, then checks it as a load
// balancer and a lab would: /healthz over HTTPS and the gRPC health service,
// both over verified TLS, and that the hub keeps its key on the data volume,
// owned by the container's user. ca is nil for a self-signed hub, whose
// certificate is then read from the data volume.
func checkServing(t *testing.T, c *container, r *running, ca *x509.CertPool, serverName string) served {
	t.Helper()
	fp := r.waitFor(t, fingerprintLine)[1]
	s := served{grpc: c.ports[grpcPort], http: c.ports[httpPort], fingerprint: fp}
	dataDir, _ := c.hostPath("/data")
	if ca == nil {
		ca = x509.NewCertPool()
		b, err := os.ReadFile(filepath.Join(dataDir, "tls.crt"))
		if err != nil || !ca.AppendCertsFromPEM(b) {
			t.Fatalf("no self-signed certificate on the data volume: %v", err)
		}
	}
	s.trust = &tls.Config{RootCAs: ca, ServerName: serverName, MinVersion: tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if got := sha256.Sum256(cs.PeerCertificates[0].Raw); hex.EncodeToString(got[:]) != fp {
				t.Errorf("the hub serves a certificate of fingerprint %x, printed %s", got, fp)
			}
			return nil
		}}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: s.trust}}
	resp, err := hc.Get("https://" + s.http + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v\n%s", err, r.output())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %s", resp.Status)
	}
	conn, err := grpc.NewClient(s.grpc, grpc.WithTransportCredentials(credentials.NewTLS(s.trust)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, svc := range []string{"", "potluck.hub.v1.HubService"} {
		res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("gRPC health of %q: %v %v", svc, res.GetStatus(), err)
		}
	}
	checkOwned(t, c, filepath.Join(dataDir, "hub.key"))
	return s
}

// checkOwned: the file exists and, when the hub ran as the container's
// user, belongs to it.
func checkOwned(t *testing.T, c *container, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the hub wrote no %s on the data volume: %v", filepath.Base(path), err)
	}
	if os.Geteuid() == 0 && c.user != nil {
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != c.user.uid {
			t.Errorf("%s is owned by uid %d, want the container's %d", path, uid, c.user.uid)
		}
	}
}
