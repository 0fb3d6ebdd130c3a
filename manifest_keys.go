package potluck

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// manifestKeys are the exact field names of a manifest, its files, tensors,
// merge info and inputs. encoding/json matches names regardless of case;
// checkKeys does not, and names the first key that is not one of these.
var manifestKeys = map[string]bool{
	"schema": true, "kind": true, "base": true, "publisher": true, "files": true, "tensors": true, "merge": true,
	"path": true, "size": true, "sha256": true, "cid": true,
	"name": true, "dtype": true, "shape": true, "file": true, "offset": true, "length": true, "encoding": true,
	"method": true, "recipe": true, "inputs": true, "engine": true, "weight": true,
	"samples": true, "shard_size": true, "no_model_card": true, "no_tokenizer": true,
}

// checkKeys walks the JSON of a manifest and reports the first object key
// that is not exactly a manifest field name. The recipe's own keys are left
// to the recipe parser.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return walkKeys(dec)
}

func walkKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := key.(string)
			if !manifestKeys[k] {
				return fmt.Errorf("unknown field %q (field names are lower case)", k)
			}
			if k == "recipe" {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
				continue
			}
			if err := walkKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if err := walkKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}
