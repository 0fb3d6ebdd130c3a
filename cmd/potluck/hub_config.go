package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// The hub's config file is its flags written as YAML, one key per flag
// name (`listen: 0.0.0.0:7420`, `require-token: true`), so every flag is
// settable there and nothing is named twice. A flag given on the command
// line wins over the file; --print-config shows the result. Paths in the
// file are relative to it.

// pathSettings are the settings that name files or folders: relative in a
// config file, they are relative to the file's folder (as a members file's
// key files are to it), and --print-config prints them absolute.
var pathSettings = map[string]bool{"data": true, "members": true, "tls-cert": true, "tls-key": true, "client-ca": true}

// applyConfig sets every flag the file names and the command line did not.
func applyConfig(fs *pflag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || k == "config" || k == "print-config" {
			return fmt.Errorf("config %s: %q is not a setting of hub serve (see --help)", path, k)
		}
		if f.Changed {
			continue
		}
		if p, ok := m[k].(string); ok && pathSettings[k] && p != "" && !filepath.IsAbs(p) {
			m[k] = filepath.Join(dir, p)
		}
		if err := setFlag(f, m[k]); err != nil {
			return fmt.Errorf("config %s: %s: %w", path, k, err)
		}
	}
	return nil
}

func setFlag(f *pflag.Flag, v any) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want a list, found %v", v)
		}
		strs := make([]string, len(list))
		for i, x := range list {
			strs[i] = fmt.Sprint(x)
		}
		return sv.Replace(strs)
	}
	if v == nil {
		v = ""
	}
	return f.Value.Set(fmt.Sprint(v))
}

// printConfig writes the effective settings as a config file would.
func printConfig(w io.Writer, fs *pflag.FlagSet) error {
	m := map[string]any{}
	fs.VisitAll(func(f *pflag.Flag) {
		switch f.Name {
		case "config", "print-config", "help":
			return
		}
		m[f.Name] = typedValue(f)
		if p := f.Value.String(); pathSettings[f.Name] && p != "" {
			if abs, err := filepath.Abs(p); err == nil {
				m[f.Name] = abs
			}
		}
	})
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func typedValue(f *pflag.Flag) any {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	s := f.Value.String()
	switch f.Value.Type() {
	case "bool":
		b, _ := strconv.ParseBool(s)
		return b
	case "float64":
		x, _ := strconv.ParseFloat(s, 64)
		return x
	case "int":
		x, _ := strconv.Atoi(s)
		return x
	}
	return s
}
