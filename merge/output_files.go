package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// OutputOptions says what a merge writes besides its tensors, where a user
// may choose (mergekit's --no-write-model-card, --no-copy-tokenizer).
type OutputOptions struct {
	// NoModelCard keeps the base's README.md, and writes neither a model
	// card nor mergekit_config.yml.
	NoModelCard bool
	// NoTokenizer leaves the base's tokenizer files out. A tokenizer the
	// recipe builds (tokenizer_source, tokenizer) is written all the same.
	NoTokenizer bool
}

// skipFromBase are base files a merge does not copy: its manifest, trim
// statistics and signature, its index (the output has its own), and
// weights in other formats, which would contradict the merged ones.
var skipFromBase = regexp.MustCompile(`(^|/)(potluck\.json|potluck\.stats|model\.sig|model\.safetensors\.index\.json|[^/]*\.bin\.index\.json)$|\.(bin|pt|pth|ckpt|gguf|h5|msgpack|onnx)$`)

// tokenizerFiles are the files of a Hugging Face tokenizer, as mergekit
// copies them.
var tokenizerFiles = []string{"tokenizer.json", tokenizerConfigFile, "special_tokens_map.json", "tokenizer.model",
	"added_tokens.json", "merges.txt", "vocab.json", "vocab.txt", "chat_template.jinja", "chat_template.json"}

// Model card files: the base's README is replaced by a card describing the
// merge, and the recipe is written beside it as mergekit writes it.
const (
	readmeFile           = "README.md"
	mergekitRecipe       = "mergekit_config.yml"
	configFile           = "config.json"
	copyLimit      int64 = 64 << 20 // config and tokenizer files are read whole
)

// writeOthers writes the output's files besides the tensors: the base's
// (config edited, licence and the rest as they are), the tokenizer, and
// the model card.
func (j *Job) writeOthers(dir string, x *expansion) error {
	tok, err := j.outputTokenizer(x)
	if err != nil {
		return err
	}
	card := j.sem.modelCard && !j.Output.NoModelCard
	for _, p := range j.Base.Other {
		switch {
		case skipFromBase.MatchString(p),
			p == readmeFile && card,
			slices.Contains(tokenizerFiles, p) && (tok != nil || j.Output.NoTokenizer):
			continue
		}
		if err := j.copyFile(dir, p, x); err != nil {
			return fmt.Errorf("merge: copy %s from base: %w", p, err)
		}
	}
	for _, p := range sortedKeys(tok) {
		if err := writeOutput(dir, p, tok[p]); err != nil {
			return err
		}
	}
	if !card {
		return nil
	}
	readme, recipe, err := j.modelCard()
	if err != nil {
		return err
	}
	if err := writeOutput(dir, readmeFile, readme); err != nil {
		return err
	}
	return writeOutput(dir, mergekitRecipe, recipe)
}

// copyFile copies one base file, config.json edited (config_edit.go).
func (j *Job) copyFile(dir, p string, x *expansion) error {
	src, err := j.Base.OpenFile(p)
	if err != nil {
		return err
	}
	defer src.Close()
	if p == configFile {
		b, err := io.ReadAll(io.LimitReader(src, copyLimit))
		if err != nil {
			return err
		}
		return writeOutput(dir, p, j.editConfig(b, x))
	}
	f, err := createOutput(dir, p)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, src)
	return errors.Join(err, f.Sync(), f.Close())
}

func createOutput(dir, p string) (*os.File, error) {
	dst := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	return os.Create(dst)
}

// writeOutput writes one whole output file.
func writeOutput(dir, p string, b []byte) error {
	f, err := createOutput(dir, p)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	_, err = f.Write(b)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("merge: %s: %w", p, err)
	}
	return nil
}

// outputTokenizer returns the output's tokenizer files when they are not
// the base's as they are: a vocabulary the recipe builds, or the base's
// with a chat template set; nil otherwise.
func (j *Job) outputTokenizer(x *expansion) (map[string][]byte, error) {
	var files map[string][]byte
	if x.vocab != nil {
		var err error
		if files, err = x.vocab.files(); err != nil {
			return nil, err
		}
	}
	if j.Recipe.ChatTemplate == "" || (files == nil && j.Output.NoTokenizer) {
		return files, nil
	}
	tmpl, err := j.chatTemplate()
	if err != nil || tmpl == "" {
		return files, err
	}
	if files == nil {
		if files, err = modelFiles(j.Base, tokenizerFiles); err != nil {
			return nil, err
		}
	}
	return files, setChatTemplate(files, tmpl)
}

// modelFiles reads those of names that m has.
func modelFiles(m *Model, names []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, p := range names {
		if !slices.Contains(m.Other, p) {
			continue
		}
		b, err := readOther(m, p)
		if err != nil {
			return nil, err
		}
		out[p] = b
	}
	return out, nil
}

// The output's config.json is the base's, edited in place where the merge
// changes what it describes, every other byte kept: the dtype (whether the
// key is torch_dtype or dtype), the layer count of a recipe of slices, the
// vocabulary size when the embeddings change rows, and the tie of lm_head
// to the embeddings when the output has an lm_head the base lacked.

// layerKeys name the layer count in the configs mergekit knows.
var layerKeys = []string{"num_hidden_layers", "n_layer", "num_layers", "n_layers"}

var torchDType = regexp.MustCompile(`"torch_dtype"(\s*):(\s*)"[^"]*"`)
var plainDType = regexp.MustCompile(`"dtype"(\s*):(\s*)"[^"]*"`)

// editConfig returns the base's config.json as the output's.
func (j *Job) editConfig(b []byte, x *expansion) []byte {
	if name := j.Recipe.dtypeName(); name != "" {
		b = torchDType.ReplaceAll(b, []byte(`"torch_dtype"$1:$2"`+name+`"`))
		if j.sem.plainDType {
			b = plainDType.ReplaceAll(b, []byte(`"dtype"$1:$2"`+name+`"`))
		}
	}
	if n := j.Recipe.Layers(); n > 0 {
		for _, k := range layerKeys {
			b = setTopLevel(b, k, strconv.Itoa(n))
		}
	}
	if x.rows > 0 {
		b = setTopLevel(b, "vocab_size", strconv.FormatInt(x.rows, 10))
	}
	if x.headAdded {
		b = setTopLevel(b, "tie_word_embeddings", "false")
	}
	return b
}

// setTopLevel replaces the value of key in the top-level object of the
// JSON document b with the literal val, when the key is there and its
// value is a scalar; b is returned unchanged otherwise.
func setTopLevel(b []byte, key, val string) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, isKey := 0, false // isKey: the next token at depth 1 is a key
	for {
		tok, err := dec.Token()
		if err != nil {
			return b
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
			isKey = depth == 1
			continue
		}
		switch {
		case depth != 1:
		case !isKey:
			isKey = true
		case tok == key:
			return replaceValue(b, dec, val)
		default:
			isKey = false
		}
	}
}

// replaceValue replaces the value dec is about to read with val, when it
// is a scalar.
func replaceValue(b []byte, dec *json.Decoder, val string) []byte {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if _, nested := tok.(json.Delim); err != nil || nested {
		return b
	}
	end := dec.InputOffset()
	start += int64(bytes.IndexByte(b[start:], ':')) + 1
	for start < end && bytes.IndexByte([]byte(" \t\r\n"), b[start]) >= 0 {
		start++
	}
	return slices.Concat(b[:start], []byte(val), b[end:])
}
