package deployments

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKubernetesHubStarts starts the hub as the kubelet runs the
// Deployment: its command, environment and securityContext, its PVC,
// ConfigMap and Secrets laid out as volumes, the Secrets made by the
// README's commands from what an operator fills in. SelfSigned is the
// manifests as shipped; CACertificate follows their comment for a
// certificate from a CA.
func TestKubernetesHubStarts(t *testing.T) {
	m := newTestMinIO(t)
	t.Run("SelfSigned", func(t *testing.T) { runKubernetesHub(t, m, false) })
	t.Run("CACertificate", func(t *testing.T) { runKubernetesHub(t, m, true) })
}

func runKubernetesHub(t *testing.T, m *testMinIO, withCA bool) {
	byKind := readManifests(t)
	byKind["ConfigMap"]["potluck-hub"]["data"].(obj)["hub.yaml"] = hubConfig(byKind, withCA)
	settings := hubSettings(t, byKind, withCA)
	bucket := strings.TrimPrefix(str(settings, "store"), "s3://")
	access, secret, session := m.hubCredentials(t, bucket, str(byKind["ConfigMap"]["potluck-minio-policy"], "data", "hub-policy.json"))

	// The operator's folder: members.yaml, keys/ and, with a CA, its
	// certificate for the hub's Service name.
	op := tempDir(t)
	l := fillMembers(t, op)
	var caFile string
	if withCA {
		caFile = makeCA(t, op, "potluck-hub")
	}
	secrets := map[string]map[string][]byte{}
	for name, s := range readmeSecrets(t) {
		if !s.optional || withCA {
			secrets[name] = s.data(t, op)
		}
	}
	// The test's MinIO stands in for potluck-minio: its root user, and the
	// hub's credentials in place of the user the Job makes (hubCredentials).
	secrets["potluck-minio"] = map[string][]byte{"user": []byte(m.rootUser), "password": []byte(m.rootSecret)}
	secrets["potluck-minio-hub"] = map[string][]byte{"access-key": []byte(access), "secret-key": []byte(secret)}

	ct := kubeletContainer(t, byKind, secrets)
	ct.env["AWS_SESSION_TOKEN"] = session // see hubCredentials
	ct.hosts[serviceAddr(t, byKind, str(settings, "s3-endpoint"))] = m.endpoint

	r := ct.start(t)
	if !withCA {
		s := checkServing(t, ct, r, nil, "potluck-hub")
		registerBase(t, m, bucket, s, l, "--hub-fingerprint", s.fingerprint)
		return
	}
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(b)
	s := checkServing(t, ct, r, pool, "potluck-hub")
	if data, _ := ct.hostPath("/data"); fileExists(filepath.Join(data, "tls.crt")) {
		t.Error("with the CA's certificate configured, the hub still made a self-signed one")
	}
	registerBase(t, m, bucket, s, l, "--hub-ca", caFile, "--hub-server-name", "potluck-hub")
}

// kubeletContainer is the hub Deployment's container as the kubelet starts
// it: command, environment from values and Secrets, user, and volumes at
// their mount paths (subPath picking one file).
func kubeletContainer(t *testing.T, byKind map[string]map[string]obj, secrets map[string]map[string][]byte) *container {
	t.Helper()
	dep := byKind["Deployment"]["potluck-hub"]
	c := hubContainer(t, byKind)
	ct := newContainer(t, append(anyStrings(list(c, "command")), anyStrings(list(c, "args"))...), podUser(t, dep, c))
	ct.mount(t, readDockerfile(t).entrypoint(t)[0], potluckBinary(t)) // the image's binary
	for _, e := range list(c, "env") {
		ref := get(e, "valueFrom", "secretKeyRef")
		v, ok := get(e, "value").(string)
		if ref != nil {
			var b []byte
			b, ok = secrets[str(ref, "name")][str(ref, "key")]
			v = string(b)
		}
		if !ok {
			t.Fatalf("env %s: no value (%v)", str(e, "name"), get(e, "valueFrom"))
		}
		ct.env[str(e, "name")] = v
	}
	root := tempDir(t)
	vols := map[string]string{}
	for _, v := range list(dep, "spec", "template", "spec", "volumes") {
		vols[str(v, "name")] = volume(t, filepath.Join(root, str(v, "name")), v, byKind, secrets, ct.user)
	}
	for _, mnt := range list(c, "volumeMounts") {
		host := vols[str(mnt, "name")]
		if sub := str(mnt, "subPath"); sub != "" {
			host = filepath.Join(host, sub)
			if _, err := os.Stat(host); err != nil {
				t.Fatalf("mount %s: subPath %s is not in volume %s", str(mnt, "mountPath"), sub, str(mnt, "name"))
			}
		}
		ct.mount(t, str(mnt, "mountPath"), host)
	}
	for _, p := range list(c, "ports") {
		ct.ports[num(p, "containerPort")] = freeAddr(t)
	}
	return ct
}

// serviceAddr is the Service HOST:PORT an endpoint URL names.
func serviceAddr(t *testing.T, byKind map[string]map[string]obj, endpoint string) string {
	t.Helper()
	svc, _ := strings.CutPrefix(endpoint, "http://")
	name, port, _ := strings.Cut(svc, ":")
	for _, p := range list(byKind["Service"][name], "spec", "ports") {
		if port == strconv.Itoa(num(p, "port")) {
			return svc
		}
	}
	t.Fatalf("%s is no port of a Service", endpoint)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// podUser is who the container runs as: its securityContext, else the
// pod's, else the image's; fsGroup is a supplementary group.
func podUser(t *testing.T, dep obj, c any) *user {
	t.Helper()
	u := readDockerfile(t).user(t)
	pod := get(dep, "spec", "template", "spec", "securityContext")
	for _, sc := range []any{pod, get(c, "securityContext")} {
		if uid, ok := get(sc, "runAsUser").(int); ok {
			u.uid = uint32(uid)
		}
		if gid, ok := get(sc, "runAsGroup").(int); ok {
			u.gid = uint32(gid)
		}
	}
	if g, ok := get(pod, "fsGroup").(int); ok {
		u.groups = []uint32{uint32(g)}
	}
	if get(pod, "runAsNonRoot") == true && u.uid == 0 {
		t.Fatal("runAsNonRoot, but the container runs as root")
	}
	return u
}

// volume lays out a pod volume at dir as the kubelet does: a PVC's folder
// owned by the fsGroup and group-writable; a ConfigMap's or Secret's keys
// as files (items choosing keys and paths; an optional Secret that does
// not exist is an empty folder), readable by the fsGroup.
func volume(t *testing.T, dir string, v any, byKind map[string]map[string]obj, secrets map[string]map[string][]byte, u *user) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var data map[string][]byte
	switch {
	case get(v, "persistentVolumeClaim") != nil:
		if byKind["PersistentVolumeClaim"][str(v, "persistentVolumeClaim", "claimName")] == nil {
			t.Fatalf("volume %s: no PVC %s", str(v, "name"), str(v, "persistentVolumeClaim", "claimName"))
		}
		if len(u.groups) > 0 && os.Geteuid() == 0 {
			if err := os.Chown(dir, 0, int(u.groups[0])); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o2775); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	case get(v, "emptyDir") != nil:
		return dir
	case get(v, "configMap") != nil:
		cm := byKind["ConfigMap"][str(v, "configMap", "name")]
		if cm == nil {
			t.Fatalf("volume %s: no ConfigMap %s", str(v, "name"), str(v, "configMap", "name"))
		}
		data = map[string][]byte{}
		for k, val := range get(cm, "data").(obj) {
			data[k] = []byte(val.(string))
		}
		v = get(v, "configMap")
	case get(v, "secret") != nil:
		name := str(v, "secret", "secretName")
		data = secrets[name]
		if data == nil && get(v, "secret", "optional") != true {
			t.Fatalf("volume %s: Secret %s is not made (the README's commands)", str(v, "name"), name)
		}
		v = get(v, "secret")
	default:
		t.Fatalf("volume %v: a kind this test does not lay out", v)
	}
	mode := os.FileMode(0o644)
	if m, ok := get(v, "defaultMode").(int); ok {
		mode = os.FileMode(m)
	}
	paths := map[string]string{}
	for k := range data {
		paths[k] = k
	}
	if items := list(v, "items"); items != nil {
		paths = map[string]string{}
		for _, it := range items {
			paths[str(it, "key")] = str(it, "path")
		}
	}
	for k, p := range paths {
		b, ok := data[k]
		if !ok {
			t.Fatalf("volume: items names key %s, which is not there", k)
		}
		f := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, mode); err != nil {
			t.Fatal(err)
		}
		if len(u.groups) > 0 && os.Geteuid() == 0 {
			os.Chown(f, 0, int(u.groups[0]))
		}
	}
	return dir
}

// makeCA writes, in the operator's folder, hub.crt and hub.key: a
// certificate for name from a new CA, whose certificate it returns the path
// of (what labs give as --hub-ca).
func makeCA(t *testing.T, dir, name string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "consortium CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	for f, b := range map[string][]byte{
		filepath.Join(dir, "hub.crt"): certPEM(der),
		filepath.Join(dir, "hub.key"): pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}),
		caFile:                        certPEM(caDER),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile
}

// certPEM is the PEM of a DER certificate.
func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
