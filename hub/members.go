package hub

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/potluck-hub/potluck/signing"
)

// ErrMembers reports a members file that cannot be used.
var ErrMembers = errors.New("hub: bad members file")

// membersFile is the YAML (or JSON) an operator writes:
//
//	orgs:
//	  - name: lab-a
//	    keys:
//	      - file: keys/lab-a.pub      # relative to the members file
//	      - pem: |
//	          -----BEGIN PUBLIC KEY-----
//	          ...
type membersFile struct {
	Orgs []struct {
		Name string `yaml:"name"`
		Keys []struct {
			File string `yaml:"file"`
			PEM  string `yaml:"pem"`
		} `yaml:"keys"`
	} `yaml:"orgs"`
}

// Member is an organisation and the keys it publishes with.
type Member struct {
	Org  string
	Keys []*signing.PublicKey
}

// Members is the consortium: who may publish, with which keys.
type Members struct {
	orgs  []Member
	byKey map[string]string // key hint → org
}

// LoadMembers reads a members file.
func LoadMembers(path string) (*Members, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMembers, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var mf membersFile
	if err := dec.Decode(&mf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMembers, path, err)
	}
	ms := &Members{byKey: map[string]string{}}
	for i, o := range mf.Orgs {
		if o.Name == "" {
			return nil, fmt.Errorf("%w: %s: orgs[%d] has no name", ErrMembers, path, i)
		}
		m := Member{Org: o.Name}
		for j, k := range o.Keys {
			key, err := loadKey(filepath.Dir(path), k.File, k.PEM)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: org %q key %d: %v", ErrMembers, path, o.Name, j, err)
			}
			if prev, dup := ms.byKey[key.Hint()]; dup {
				return nil, fmt.Errorf("%w: %s: a key of org %q is also listed for %q", ErrMembers, path, o.Name, prev)
			}
			ms.byKey[key.Hint()] = o.Name
			m.Keys = append(m.Keys, key)
		}
		ms.orgs = append(ms.orgs, m)
	}
	sort.Slice(ms.orgs, func(i, j int) bool { return ms.orgs[i].Org < ms.orgs[j].Org })
	return ms, nil
}

func loadKey(dir, file, pem string) (*signing.PublicKey, error) {
	switch {
	case file != "" && pem != "":
		return nil, errors.New("give file or pem, not both")
	case file != "":
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		return signing.LoadPublicKey(file)
	case pem != "":
		return signing.ParsePublicKey([]byte(pem))
	}
	return nil, errors.New("no file or pem")
}

// Orgs returns every member, sorted by name.
func (m *Members) Orgs() []Member { return m.orgs }

// Keys returns every member key.
func (m *Members) Keys() []*signing.PublicKey {
	var keys []*signing.PublicKey
	for _, o := range m.orgs {
		keys = append(keys, o.Keys...)
	}
	return keys
}

// OrgOf returns the org a key belongs to.
func (m *Members) OrgOf(k *signing.PublicKey) (string, bool) {
	org, ok := m.byKey[k.Hint()]
	return org, ok
}
