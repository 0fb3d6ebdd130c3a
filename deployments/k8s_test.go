package deployments

import "testing"

// readManifests parses k8s/*.yaml by kind and name.
func readManifests(t *testing.T) map[string]map[string]obj {
	t.Helper()
	byKind := map[string]map[string]obj{}
	for _, f := range []string{"k8s/hub.yaml", "k8s/minio.yaml"} {
		for _, d := range readDocs(t, f) {
			kind, name := str(d, "kind"), str(d, "metadata", "name")
			if kind == "" || name == "" || str(d, "apiVersion") == "" {
				t.Fatalf("%s: a document without apiVersion, kind or name: %v", f, d)
			}
			if byKind[kind] == nil {
				byKind[kind] = map[string]obj{}
			}
			byKind[kind][name] = d
		}
	}
	return byKind
}

// hubContainer is the hub Deployment's one container.
func hubContainer(t *testing.T, byKind map[string]map[string]obj) any {
	t.Helper()
	cs := list(byKind["Deployment"]["potluck-hub"], "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("hub deployment: %d containers, want 1", len(cs))
	}
	return cs[0]
}
