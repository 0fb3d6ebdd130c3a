package hub

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The members file is walked as YAML nodes, not decoded into a struct, so
// that each mistake is one line naming the line, the org and the field
// ("line 7: org "lab-a": unknown field "token" (want name, role, keys or
// tokens)") rather than a dump of Go types.

var (
	fileFields = []string{"orgs"}
	orgFields  = []string{"name", "role", "keys", "tokens"}
	keyFields  = []string{"file", "pem", "not_before", "not_after", "revoked"}
)

func parseMembers(b []byte, dir string) (*Members, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if len(root.Content) == 0 {
		return nil, errors.New("the file is empty (want orgs: a list of member orgs)")
	}
	fields, err := mappingFields(root.Content[0], "the file", fileFields)
	if err != nil {
		return nil, err
	}
	ms := &Members{byKey: map[string]*MemberKey{}, byToken: map[string]Member{}}
	orgs := fields["orgs"]
	if orgs == nil {
		return ms, nil
	}
	if orgs.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: orgs: want a list of member orgs", orgs.Line)
	}
	firstAt := map[string]int{}
	for i, o := range orgs.Content {
		m, err := ms.parseOrg(o, i, dir, firstAt)
		if err != nil {
			return nil, err
		}
		ms.orgs = append(ms.orgs, m)
	}
	sort.Slice(ms.orgs, func(i, j int) bool { return ms.orgs[i].Org < ms.orgs[j].Org })
	return ms, nil
}

// parseOrg reads one entry of orgs; firstAt maps the names seen to their
// lines.
func (ms *Members) parseOrg(n *yaml.Node, i int, dir string, firstAt map[string]int) (Member, error) {
	what := fmt.Sprintf("orgs[%d]", i)
	if n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "name" && n.Content[j+1].Value != "" {
				what = fmt.Sprintf("org %q", n.Content[j+1].Value)
			}
		}
	}
	fields, err := mappingFields(n, what, orgFields)
	if err != nil {
		return Member{}, err
	}
	name, err := scalar(fields["name"], what, "name")
	if err != nil {
		return Member{}, err
	}
	role, err := scalar(fields["role"], what, "role")
	if err != nil {
		return Member{}, err
	}
	if at, dup := firstAt[name]; dup && name != "" {
		return Member{}, fmt.Errorf("line %d: org %q is listed twice (first at line %d): give each org one entry", n.Line, name, at)
	}
	firstAt[name] = n.Line
	keys, err := keyEntries(fields["keys"], what)
	if err != nil {
		return Member{}, err
	}
	tokens, err := stringList(fields["tokens"], what, "tokens")
	if err != nil {
		return Member{}, err
	}
	m, err := ms.addOrg(dir, name, role, keys)
	if err == nil {
		err = ms.addTokens(m, tokens)
	}
	if err != nil {
		return Member{}, fmt.Errorf("line %d: %v", n.Line, err)
	}
	return m, nil
}

func keyEntries(n *yaml.Node, what string) ([]keyEntry, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: %s: keys: want a list of keys (file: or pem:)", n.Line, what)
	}
	var out []keyEntry
	for j, kn := range n.Content {
		kwhat := fmt.Sprintf("%s keys[%d]", what, j)
		f, err := mappingFields(kn, kwhat, keyFields)
		if err != nil {
			return nil, err
		}
		var k keyEntry
		if k.File, err = scalar(f["file"], kwhat, "file"); err != nil {
			return nil, err
		}
		if k.PEM, err = scalar(f["pem"], kwhat, "pem"); err != nil {
			return nil, err
		}
		for _, d := range []struct {
			field string
			to    **time.Time
		}{{"not_before", &k.NotBefore}, {"not_after", &k.NotAfter}, {"revoked", &k.Revoked}} {
			if *d.to, err = date(f[d.field], kwhat, d.field); err != nil {
				return nil, err
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// mappingFields returns a mapping's values by key, refusing a key not in
// known and a key given twice.
func mappingFields(n *yaml.Node, what string, known []string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s: want a mapping with %s", n.Line, what, orList(known))
	}
	out := map[string]*yaml.Node{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k := n.Content[j]
		if !slices.Contains(known, k.Value) {
			return nil, fmt.Errorf("line %d: %s: unknown field %q (want %s)", k.Line, what, k.Value, orList(known))
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s: field %q given twice", k.Line, what, k.Value)
		}
		out[k.Value] = n.Content[j+1]
	}
	return out, nil
}

func scalar(n *yaml.Node, what, field string) (string, error) {
	if n == nil || n.Tag == "!!null" {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: %s: %s: want a single value", n.Line, what, field)
	}
	return n.Value, nil
}

func stringList(n *yaml.Node, what, field string) ([]string, error) {
	if n == nil || n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: %s: %s: want a list", n.Line, what, field)
	}
	var out []string
	for _, e := range n.Content {
		s, err := scalar(e, what, field)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// date reads a timestamp: YAML's, RFC 3339 quoted, or a date alone
// (midnight UTC).
func date(n *yaml.Node, what, field string) (*time.Time, error) {
	v, err := scalar(n, what, field)
	if err != nil || v == "" {
		return nil, err
	}
	var t time.Time
	if n.Decode(&t) == nil {
		return &t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("line %d: %s: %s %q is not a date (want RFC 3339, e.g. 2026-01-01T00:00:00Z)", n.Line, what, field, v)
}

// orList writes "a, b or c".
func orList(list []string) string {
	if len(list) == 1 {
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}
