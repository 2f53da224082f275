package reload

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileReloadsOnChangeAndKeepsOldOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "value")
	write := func(s string) {
		t.Helper()
		// Replaced by a rename, the way a Secret volume swaps its files.
		tmp := filepath.Join(dir, "tmp")
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	load := func() (string, error) {
		b, err := os.ReadFile(path)
		if strings.HasPrefix(string(b), "bad") {
			return "", errors.New("bad content")
		}
		return string(b), err
	}
	f, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), load, path)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	f.now = func() time.Time { return clock }
	steps := []struct {
		write   string
		advance time.Duration
		want    string
	}{
		{"", 0, "one"},
		{"two", 0, "one"},            // changed, but checked at most once a second
		{"", checkEvery, "two"},      // now seen
		{"bad", checkEvery, "two"},   // a bad version keeps the good one
		{"six", checkEvery, "six"},   // the same size as "two": the new inode tells
		{"", 10 * checkEvery, "six"}, // nothing changed
	}
	for i, s := range steps {
		if s.write != "" {
			write(s.write)
		}
		clock = clock.Add(s.advance)
		if got := f.Get(); got != s.want {
			t.Fatalf("step %d: Get() = %q, want %q", i, got, s.want)
		}
	}
}

func TestNewFailsOnBadFile(t *testing.T) {
	_, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), func() (int, error) { return 0, errors.New("no such file") }, "/nonexistent")
	if err == nil {
		t.Fatal("New with a failing load: got no error")
	}
}
