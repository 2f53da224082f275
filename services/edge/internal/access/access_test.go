package access

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func hash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func TestLookupAndAllows(t *testing.T) {
	table, err := Parse([]byte(`
tokens:
  - name: family
    sha256: ` + hash("family-secret") + `
    cameras: [front-door, "garden-*"]
  - name: admin
    sha256: ` + hash("admin-secret") + `
    cameras: ["*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		token, camera string
		wantName      string
		wantAllowed   bool
	}{
		{"family-secret", "front-door", "family", true},
		{"family-secret", "garden-1", "family", true},
		{"family-secret", "garage", "family", false},
		{"family-secret", "front-door-2", "family", false},
		{"admin-secret", "garage", "admin", true},
		{"nobody", "front-door", "", false},
		{"", "front-door", "", false},
	} {
		g, ok := table.Lookup(tt.token)
		if ok != (tt.wantName != "") || g.Name != tt.wantName {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.token, g.Name, ok, tt.wantName)
		}
		if got := g.Allows(tt.camera); got != tt.wantAllowed {
			t.Errorf("token %q: Allows(%q) = %v, want %v", tt.token, tt.camera, got, tt.wantAllowed)
		}
	}
	if !All.Allows("anything") {
		t.Error("All.Allows(anything) = false")
	}
}

func TestParseErrors(t *testing.T) {
	h := hash("x")
	for _, tt := range []struct {
		name, yaml, wantErr string
	}{
		{"unknown key", "tokens:\n  - name: a\n    sha: " + h + "\n    cameras: [a]\n", "field sha not found"},
		{"no name", "tokens:\n  - sha256: " + h + "\n    cameras: [a]\n", "give it a name"},
		{"short hash", "tokens:\n  - name: a\n    sha256: abc\n    cameras: [a]\n", "64 hex digits"},
		{"plain token instead of hash", "tokens:\n  - name: a\n    sha256: my-secret-token\n    cameras: [a]\n", "64 hex digits"},
		{"no cameras", "tokens:\n  - name: a\n    sha256: " + h + "\n", "list the cameras"},
		{"bad pattern", "tokens:\n  - name: a\n    sha256: " + h + "\n    cameras: [\"[\"]\n", "not valid"},
		{"name twice", "tokens:\n  - name: a\n    sha256: " + h + "\n    cameras: [a]\n  - name: a\n    sha256: " + hash("y") + "\n    cameras: [a]\n", "used twice"},
		{"token twice", "tokens:\n  - name: a\n    sha256: " + h + "\n    cameras: [a]\n  - name: b\n    sha256: " + h + "\n    cameras: [a]\n", "same token"},
		{"not yaml", "tokens: [", "yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse error = %v, want one containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "my-secret-token") {
				t.Errorf("Parse error %q shows the file's value", err)
			}
		})
	}
	if table, err := Parse(nil); err != nil || len(table.tokens) != 0 {
		t.Errorf("Parse(empty) = %v, %v; want no tokens", table, err)
	}
}
