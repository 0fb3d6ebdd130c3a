package merge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// checkArchitectures refuses a full model whose config.json names another
// architecture than the base's (its architectures, else its model_type),
// as mergekit does unless --allow-crimes; models without a config pass.
func (j *Job) checkArchitectures() error {
	want, err := architecture(j.Base)
	if err != nil || want == "" {
		return err
	}
	refs := j.Recipe.References()
	for i, d := range j.Deltas {
		got, err := architecture(d)
		if err != nil {
			return err
		}
		if got != "" && got != want {
			return fmt.Errorf("%w: %s (%s) is a %s, the base is a %s (allow_crimes merges them anyway)", ErrIncompatible, j.Recipe.where(i), refs[i], got, want)
		}
	}
	return nil
}

// architecture names a model's architecture from its config.json ("" when
// it has none).
func architecture(m *Model) (string, error) {
	if !slices.Contains(m.Other, configFile) {
		return "", nil
	}
	b, err := readOther(m, configFile)
	if err != nil {
		return "", err
	}
	var cfg struct {
		Architectures []string `json:"architectures"`
		ModelType     string   `json:"model_type"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("merge: model %s: %s: %w", m.Name, configFile, err)
	}
	if len(cfg.Architectures) > 0 {
		return strings.Join(cfg.Architectures, ", "), nil
	}
	return cfg.ModelType, nil
}
