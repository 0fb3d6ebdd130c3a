package merge

import "fmt"

const tokenizerConfigFile = "tokenizer_config.json"

// vocabulary is the output's tokenizer when the recipe builds one.
type vocabulary struct{}

func (x *expansion) mapVocabulary() error {
	return fmt.Errorf("%w: tokenizer_source and tokenizer are not supported yet", ErrRecipe)
}

func (v *vocabulary) files() (map[string][]byte, error) { return nil, nil }
