package deployments

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The hub's ports, as the Dockerfile exposes them and hub serve's
// --listen/--http are set in every deployment.
const grpcPort, httpPort = 7420, 7421

// obj is a parsed YAML mapping, walked by path.
type obj = map[string]any

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func list(v any, path ...string) []any { l, _ := get(v, path...).([]any); return l }

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }

func num(v any, path ...string) int { n, _ := get(v, path...).(int); return n }

func readDocs(t *testing.T, path string) []obj {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []obj
	for {
		var d obj
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
}

func TestDockerfileExposesTheHubPorts(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"EXPOSE 7420 7421", `"--listen", "0.0.0.0:7420"`, `"--http", "0.0.0.0:7421"`, "CGO_ENABLED=0", `"--data", "/data"`} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestCompose(t *testing.T) {
	docs := readDocs(t, "docker-compose.yml")
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	c := docs[0]
	hub, minio, initJob := get(c, "services", "hub"), get(c, "services", "minio"), get(c, "services", "minio-init")
	if hub == nil || minio == nil || initJob == nil {
		t.Fatal("services hub, minio and minio-init are required")
	}
	if img := str(minio, "image"); !strings.HasPrefix(img, "minio/minio:") || strings.HasSuffix(img, ":latest") {
		t.Errorf("minio image %q: want a pinned minio/minio release", img)
	}
	if str(hub, "build", "dockerfile") != "deployments/Dockerfile" || str(hub, "build", "context") != ".." {
		t.Errorf("hub build: %v", get(hub, "build"))
	}
	var ports []string
	for _, p := range list(hub, "ports") {
		ports = append(ports, p.(string))
	}
	if !slices.Contains(ports, "7420:7420") || !slices.Contains(ports, "7421:7421") {
		t.Errorf("hub ports %v, want 7420 and 7421 published", ports)
	}
	mounts := composeMounts(t, c, "hub")
	if m := mounts["/data"]; m.bind || get(c, "volumes") == nil {
		t.Errorf("hub's /data is %+v: want a named volume", m)
	}
	cmd := list(hub, "command")
	if len(cmd) != 2 || cmd[0] != "--config" || cmd[1] != "/etc/potluck/hub.yaml" {
		t.Fatalf("hub command %v: want --config /etc/potluck/hub.yaml", cmd)
	}
	settings := readDocs(t, composeSource(t, mounts, "/etc/potluck/hub.yaml"))[0]
	if s := str(settings, "store"); s != "s3://potluck" || str(settings, "s3-endpoint") != "http://minio:9000" {
		t.Errorf("hub config store %q at %q, want s3://potluck on the minio service", s, str(settings, "s3-endpoint"))
	}
	// The members file the hub reads is in the repository, ready to fill.
	if str(settings, "members") == "" {
		t.Fatal("the hub's config names no members file: the default, /data/members.yaml, is on a fresh volume")
	}
	members := readDocs(t, composeSource(t, mounts, str(settings, "members")))
	if len(members) != 1 || get(members[0], "orgs") == nil {
		t.Errorf("the hub's members file %s has no orgs", str(settings, "members"))
	}
	// MinIO's root credentials go to MinIO and minio-init only; the hub
	// gets the user minio-init makes for it.
	for _, env := range []string{"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} {
		if get(hub, "environment", env) != nil {
			t.Errorf("the hub gets MinIO's %s: want its own bucket-scoped user", env)
		}
		if get(minio, "environment", env) == nil || get(minio, "environment", env) != get(initJob, "environment", env) {
			t.Errorf("%s must be the same for minio and minio-init", env)
		}
	}
	for hubVar, initVar := range map[string]string{"AWS_ACCESS_KEY_ID": "HUB_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY": "HUB_SECRET_KEY"} {
		if h := str(hub, "environment", hubVar); h == "" || h != str(initJob, "environment", initVar) {
			t.Errorf("the hub's %s is %q, minio-init makes the user with %s %q", hubVar, h, initVar, str(initJob, "environment", initVar))
		}
	}
	if d := str(hub, "depends_on", "minio-init", "condition"); d != "service_completed_successfully" {
		t.Errorf("the hub starts on minio-init %q: want service_completed_successfully", d)
	}
	script := strings.ReplaceAll(strings.Join(anyStrings(list(initJob, "entrypoint")), " "), "$$", "$")
	checkInitScript(t, "minio-init", script, "http://minio:9000", composeMounts(t, c, "minio-init"), func(m composeMount, rel string) []byte {
		b, err := os.ReadFile(filepath.Join(m.src, rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// checkInitScript: the init step (compose's minio-init, the k8s Job) makes
// the hub's bucket, the policy from the mounted policy file and the hub's
// user, with that policy attached; the policy is minio-hub-policy.json.
func checkInitScript[M any](t *testing.T, where, script, endpoint string, mounts map[string]M, read func(m M, rel string) []byte) {
	t.Helper()
	for _, want := range []string{"mc alias set local " + endpoint + ` "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"`,
		"mc mb --ignore-existing local/potluck", `mc admin user add local "$HUB_ACCESS_KEY" "$HUB_SECRET_KEY"`,
		`mc admin policy attach local potluck-hub --user "$HUB_ACCESS_KEY"`} {
		if !strings.Contains(script, want) {
			t.Errorf("%s does not run %s", where, want)
		}
	}
	_, file, _ := strings.Cut(script, "mc admin policy create local potluck-hub ")
	file, _, _ = strings.Cut(file, "\n")
	file = strings.TrimSpace(file)
	var got, want any
	found := false
	for dst, m := range mounts {
		if rel, ok := strings.CutPrefix(file, dst); ok && (rel == "" || rel[0] == '/') {
			json.Unmarshal(read(m, strings.TrimPrefix(rel, "/")), &got)
			found = true
		}
	}
	if !found {
		t.Fatalf("%s: the policy %q is not mounted", where, file)
	}
	b, err := os.ReadFile("minio-hub-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: the policy at %s is not minio-hub-policy.json (%v)", where, file, err)
	}
}

func anyStrings(l []any) []string {
	s := make([]string, len(l))
	for i, x := range l {
		s[i], _ = x.(string)
	}
	return s
}

func TestKubernetes(t *testing.T) {
	byKind := readManifests(t)
	// kubectl apply would overwrite the Secrets the README has operators make.
	for name := range byKind["Secret"] {
		t.Errorf("the manifests hold Secret %s: applying them overwrites the one the README's command made", name)
	}
	for kind, names := range map[string][]string{
		"Deployment": {"potluck-hub", "potluck-minio"}, "Service": {"potluck-hub", "potluck-minio"},
		"PersistentVolumeClaim": {"potluck-hub-data", "potluck-minio-data"},
		"ConfigMap":             {"potluck-hub", "potluck-minio-policy"}, "Job": {"potluck-minio-bucket"},
	} {
		for _, n := range names {
			if byKind[kind][n] == nil {
				t.Errorf("no %s %s", kind, n)
			}
		}
	}
	dep := byKind["Deployment"]["potluck-hub"]
	c := hubContainer(t, byKind)
	ports := map[string]int{}
	for _, p := range list(c, "ports") {
		ports[str(p, "name")] = num(p, "containerPort")
	}
	if ports["grpc"] != grpcPort || ports["http"] != httpPort {
		t.Errorf("hub container ports %v, want grpc %d and http %d", ports, grpcPort, httpPort)
	}
	settings := hubSettings(t, byKind, false)
	if str(settings, "listen") != "0.0.0.0:7420" || str(settings, "http") != "0.0.0.0:7421" || str(settings, "data") != "/data" {
		t.Errorf("hub config listen %q http %q data %q", str(settings, "listen"), str(settings, "http"), str(settings, "data"))
	}
	if s := str(settings, "tls-cert"); s != "" {
		t.Errorf("hub config tls-cert %q: the self-signed certificate is the default", s)
	}
	if str(hubSettings(t, byKind, true), "tls-cert") == "" {
		t.Error("hub config: no commented tls-cert line to uncomment for a CA's certificate")
	}
	// Every Secret a pod reads is one the README's commands make, with the
	// keys it reads; MinIO's root credentials reach no hub.
	secrets := readmeSecrets(t)
	for _, kind := range []string{"Deployment", "Job"} {
		for name, d := range byKind[kind] {
			spec := get(d, "spec", "template", "spec")
			for _, v := range list(spec, "volumes") {
				if s := str(v, "secret", "secretName"); s != "" && secrets[s] == nil {
					t.Errorf("%s %s mounts Secret %s, which the README makes no command for", kind, name, s)
				}
			}
			for _, ct := range list(spec, "containers") {
				for _, e := range list(ct, "env") {
					ref := get(e, "valueFrom", "secretKeyRef")
					if ref == nil {
						continue
					}
					if s := secrets[str(ref, "name")]; s == nil || !s.hasKey(str(ref, "key")) {
						t.Errorf("%s %s reads key %s of Secret %s, which the README's commands do not make", kind, name, str(ref, "key"), str(ref, "name"))
					}
					if name == "potluck-hub" && str(ref, "name") == "potluck-minio" {
						t.Errorf("the hub gets MinIO's root credentials (%s): want its own bucket-scoped user", str(e, "name"))
					}
				}
			}
		}
	}
	job := list(byKind["Job"]["potluck-minio-bucket"], "spec", "template", "spec", "containers")[0]
	checkInitScript(t, "Job potluck-minio-bucket", strings.Join(anyStrings(list(job, "command")), " "), "http://potluck-minio:9000",
		podMounts(t, byKind["Job"]["potluck-minio-bucket"], job), func(v any, rel string) []byte {
			return []byte(str(byKind["ConfigMap"][str(v, "configMap", "name")], "data", rel))
		})
	// Labs outside the cluster reach the hub's Service.
	svc := byKind["Service"]["potluck-hub"]
	if ty := str(svc, "spec", "type"); ty != "LoadBalancer" && ty != "NodePort" {
		t.Errorf("Service potluck-hub is %q: labs outside the cluster cannot reach it", ty)
	}
	for _, p := range list(svc, "spec", "ports") {
		if ports[str(p, "targetPort")] != num(p, "port") {
			t.Errorf("service port %v does not reach the container's", p)
		}
	}
	if sel := str(svc, "spec", "selector", "app"); sel != str(dep, "spec", "template", "metadata", "labels", "app") {
		t.Errorf("service selector %q does not match the pods", sel)
	}
}
