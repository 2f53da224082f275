// Package access is who may see which camera: named tokens from an access
// file, each stored as the SHA-256 of the token and allowed the cameras
// whose ids match its patterns.
package access

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"go.yaml.in/yaml/v3"
)

// Grant is what one request may see.
type Grant struct {
	// Name is the token's name in the access file; empty for the single
	// --auth-token and when no token is needed.
	Name     string
	all      bool
	patterns []string
}

// All sees every camera.
var All = Grant{all: true}

// SeesAll reports whether the grant sees every camera, present and future.
func (g Grant) SeesAll() bool { return g.all }

// Allows reports whether the grant sees camera id.
func (g Grant) Allows(id string) bool {
	if g.all {
		return true
	}
	for _, p := range g.patterns {
		if ok, _ := path.Match(p, id); ok {
			return true
		}
	}
	return false
}

// Table is the tokens of an access file.
type Table struct {
	tokens []token
}

type token struct {
	name     string
	hash     [sha256.Size]byte
	patterns []string
}

// file is the access file's format.
type file struct {
	Tokens []struct {
		Name    string   `yaml:"name"`
		SHA256  string   `yaml:"sha256"`
		Cameras []string `yaml:"cameras"`
	} `yaml:"tokens"`
}

// Load reads and checks an access file.
func Load(name string) (*Table, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("access file: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("access file %s: %w", name, err)
	}
	return t, nil
}

// Parse reads an access file's content; unknown keys are errors, so a
// misspelt key does not silently open or close a camera.
func Parse(b []byte) (*Table, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	t := &Table{}
	names := make(map[string]bool)
	hashes := make(map[[sha256.Size]byte]string)
	for i, e := range f.Tokens {
		where := fmt.Sprintf("token %d (%q)", i+1, e.Name)
		if e.Name == "" {
			return nil, fmt.Errorf("token %d: give it a name", i+1)
		}
		if names[e.Name] {
			return nil, fmt.Errorf("%s: the name is used twice", where)
		}
		names[e.Name] = true
		raw, err := hex.DecodeString(e.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("%s: sha256 must be 64 hex digits, the SHA-256 of the token (printf %%s TOKEN | sha256sum)", where)
		}
		tok := token{name: e.Name, hash: [sha256.Size]byte(raw), patterns: e.Cameras}
		if other, dup := hashes[tok.hash]; dup {
			return nil, fmt.Errorf("%s: the same token as %q", where, other)
		}
		hashes[tok.hash] = e.Name
		if len(e.Cameras) == 0 {
			return nil, fmt.Errorf("%s: list the cameras it may see (ids or patterns like garden-*)", where)
		}
		for _, p := range e.Cameras {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return nil, fmt.Errorf("%s: camera pattern %q is not valid", where, p)
			}
		}
		t.tokens = append(t.tokens, tok)
	}
	return t, nil
}

// Lookup returns the grant of a token. Every entry is compared, in
// constant time, so the answer's timing tells nothing of which matched.
func (t *Table) Lookup(tok string) (Grant, bool) {
	sum := sha256.Sum256([]byte(tok))
	found := -1
	for i := range t.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.tokens[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Grant{}, false
	}
	e := t.tokens[found]
	return Grant{Name: e.name, patterns: e.patterns}, true
}
