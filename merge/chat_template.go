package merge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Chat templates a recipe may name (chat_template: chatml), written here
// for the prompt formats they are named after.
var chatTemplates = map[string]string{
	"chatml": "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
		"{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
	"llama3": "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
		"{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
	"mistral": "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
		"{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}",
	"alpaca": "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] | trim + '\\n\\n' }}" +
		"{% elif message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] | trim + '\\n\\n' }}" +
		"{% elif message['role'] == 'assistant' %}{{ '### Response:\\n' + message['content'] | trim + '\\n\\n' }}{% endif %}{% endfor %}" +
		"{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}",
	"exaone": "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}{{ '[|system|][|endofturn|]\\n' }}{% endif %}" +
		"{{ '[|' + message['role'] + '|]' + message['content'] }}{% if message['role'] == 'user' %}{{ '\\n' }}{% else %}{{ '[|endofturn|]\\n' }}{% endif %}{% endfor %}" +
		"{% if add_generation_prompt %}{{ '[|assistant|]' }}{% endif %}",
}

// checkChatTemplate accepts what mergekit accepts: "auto", a built-in
// name, or a Jinja template (at least 20 characters, with a brace).
func checkChatTemplate(t string) error {
	if t == "" || t == "auto" || chatTemplates[t] != "" || (len(t) >= 20 && strings.Contains(t, "{")) {
		return nil
	}
	return fmt.Errorf("%w: chat_template %q is neither auto, a built-in template (%s) nor a Jinja template", ErrRecipe, t, strings.Join(sortedKeys(chatTemplates), ", "))
}

// chatTemplate resolves the recipe's chat_template for the output: a
// built-in's text, the template itself, or for "auto" the template most of
// the models carry (the first seen among equals, base first; "" when none
// has one).
func (j *Job) chatTemplate() (string, error) {
	t := j.Recipe.ChatTemplate
	if t != "auto" {
		if b, ok := chatTemplates[t]; ok {
			return b, nil
		}
		return t, nil
	}
	var seen []string
	count := map[string]int{}
	for _, m := range append([]*Model{j.Base}, j.Deltas...) {
		tmpl, err := modelChatTemplate(m)
		if err != nil {
			return "", err
		}
		if tmpl = strings.TrimSpace(tmpl); tmpl == "" {
			continue
		}
		if count[tmpl]++; count[tmpl] == 1 {
			seen = append(seen, tmpl)
		}
	}
	best := ""
	for _, tmpl := range seen {
		if count[tmpl] > count[best] {
			best = tmpl
		}
	}
	return best, nil
}

// modelChatTemplate reads a model's chat template: chat_template.jinja, else
// tokenizer_config.json's chat_template (a string, or a list of named
// templates whose "default" counts).
func modelChatTemplate(m *Model) (string, error) {
	if slices.Contains(m.Other, "chat_template.jinja") {
		b, err := readOther(m, "chat_template.jinja")
		return string(b), err
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := readJSON(m, tokenizerConfigFile, &cfg); err != nil {
		return "", err
	}
	var s string
	if json.Unmarshal(cfg.ChatTemplate, &s) == nil {
		return s, nil
	}
	var named []struct{ Name, Template string }
	json.Unmarshal(cfg.ChatTemplate, &named)
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", nil
}

// readJSON decodes one of a model's JSON files into v; a file the model
// does not have leaves v as it is.
func readJSON(m *Model, p string, v any) error {
	if !slices.Contains(m.Other, p) {
		return nil
	}
	b, err := readOther(m, p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("merge: model %s: %s: %w", m.Name, p, err)
	}
	return nil
}

// readOther reads one of a model's small files whole (at most 64 MiB).
func readOther(m *Model, p string) ([]byte, error) {
	f, err := m.OpenFile(p)
	if err != nil {
		return nil, fmt.Errorf("merge: model %s: %w", m.Name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("merge: model %s: %s: %w", m.Name, p, err)
	}
	return b, nil
}

// setChatTemplate puts tmpl in a tokenizer's files: in chat_template.jinja
// when it has one (newer transformers read it first), else as
// tokenizer_config.json's chat_template.
func setChatTemplate(files map[string][]byte, tmpl string) error {
	if _, ok := files["chat_template.jinja"]; ok {
		files["chat_template.jinja"] = []byte(tmpl)
		return nil
	}
	v, err := json.Marshal(tmpl)
	if err != nil {
		return err
	}
	cfg, ok := files[tokenizerConfigFile]
	if !ok {
		cfg = []byte("{}\n")
	}
	files[tokenizerConfigFile], err = setOrAdd(cfg, "chat_template", string(v))
	return err
}

// setOrAdd sets key in the top-level object of the JSON document b to the
// literal val, adding it first when it is not there.
func setOrAdd(b []byte, key, val string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("merge: %s: %w", tokenizerConfigFile, err)
	}
	if _, ok := top[key]; ok {
		return setTopLevel(b, key, val), nil
	}
	k, _ := json.Marshal(key)
	at := bytes.IndexByte(b, '{') + 1
	sep := ","
	if len(top) == 0 {
		sep = ""
	}
	return slices.Concat(b[:at], []byte("\n  "), k, []byte(": "+val+sep), b[at:]), nil
}
