package reload

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second // generous: the machine may be busy

// Every way a camera file gets replaced makes exactly one reload: the
// kubelet's ..data swap, an editor's write-and-rename, an in-place write,
// and SIGHUP (even with nothing changed). A write of the same content, or
// an unrelated file in the directory, makes none.
func TestReloadOncePerChange(t *testing.T) {
	dir := t.TempDir()
	kubeletWrite(t, dir, map[string]string{"cameras.yaml": cameraFile("a")})
	path := filepath.Join(dir, "cameras.yaml")
	f := startReloader(t, path, nil)

	kubeletWrite(t, dir, map[string]string{"cameras.yaml": cameraFile("a", "b")})
	f.waitCounts(t, "kubelet swap", 1, 0)
	if got := f.run.ids(); got != "a,b" {
		t.Fatalf("cameras after the swap = %s, want a,b", got)
	}

	kubeletWrite(t, dir, map[string]string{"cameras.yaml": cameraFile("a", "b")})
	f.waitCounts(t, "kubelet swap of the same content", 1, 0)

	// An editor: write a new file, rename it over the (symlink) name.
	tmp := filepath.Join(dir, ".cameras.yaml.swp")
	if err := os.WriteFile(tmp, []byte(cameraFile("c")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	f.waitCounts(t, "rename-write", 2, 0)

	if err := os.WriteFile(path, []byte(cameraFile("c", "d")), 0o644); err != nil {
		t.Fatal(err)
	}
	f.waitCounts(t, "in-place write", 3, 0)
	if got := f.run.ids(); got != "c,d" {
		t.Fatalf("cameras after the writes = %s, want c,d", got)
	}

	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.waitCounts(t, "an unrelated file", 3, 0)

	f.hup <- syscall.SIGHUP
	f.waitCounts(t, "SIGHUP", 4, 0)
}

// A file that does not load changes nothing and counts one error each:
// bad YAML, half written, a duplicate id, a field out of range, deleted.
// The log line names the camera and the field and masks credentials.
// The next good file loads.
func TestReloadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cameras.yaml")
	good := cameraFile("a", "b")
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startReloader(t, path, nil)
	bad := []struct {
		name, content, log string
	}{
		{"bad yaml", "cameras:\n  - id: a\n   source: [", "not a valid camera file"},
		{"half written", good[:len(good)-12], `camera \"b\": source: `},
		{"duplicate id", cameraFile("a", "a"), `camera \"a\": id: used by camera #1 and #2`},
		{"bad field", "cameras:\n  - id: a\n    source: rtsp://admin:Pw-0ut@cam:99999x/s\n", `camera \"a\": source: \"rtsp://***@cam:99999x/s\"`},
		{"bad picture control", good + "    masks:\n      - {x: 0, y: 0, width: 0, height: 9}\n", `camera \"b\": masks[0]: width and height must be positive`},
	}
	for i, tt := range bad {
		if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		f.waitCounts(t, tt.name, 0, i+1)
		if got := f.run.ids(); got != "a,b" {
			t.Fatalf("%s: cameras = %s, want a,b unchanged", tt.name, got)
		}
		if !strings.Contains(f.log.String(), tt.log) {
			t.Errorf("%s: log lacks %q:\n%s", tt.name, tt.log, f.log)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	f.waitCounts(t, "deleted", 0, len(bad)+1)
	if got := f.run.ids(); got != "a,b" {
		t.Fatalf("deleted file: cameras = %s, want a,b unchanged", got)
	}
	if strings.Contains(f.log.String(), "Pw-0ut") {
		t.Errorf("the log shows a password:\n%s", f.log)
	}
	f.run.mu.Lock()
	if f.run.changes != 1 {
		t.Errorf("%d applies changed the cameras, want only the start-up one", f.run.changes)
	}
	f.run.mu.Unlock()
	if err := os.WriteFile(path, []byte(cameraFile("a")), 0o644); err != nil {
		t.Fatal(err)
	}
	f.waitCounts(t, "good again", 1, len(bad)+1)
	if got := f.run.ids(); got != "a" {
		t.Fatalf("cameras after a good file = %s, want a", got)
	}
}

// A password kept in a file of a mounted Secret (another directory,
// updated by the kubelet's swap) is reloaded when it changes: the camera
// gets the new password; the log never shows it.
func TestReloadSecretFile(t *testing.T) {
	conf, secrets := t.TempDir(), t.TempDir()
	kubeletWrite(t, secrets, map[string]string{"front-pass": "old-Pw-1\n"})
	path := filepath.Join(conf, "cameras.yaml")
	file := "cameras:\n  - id: front\n    source: rtsp://${USER}:${file:" + filepath.Join(secrets, "front-pass") + "}@cam/s\n"
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return map[string]string{"USER": "admin"}[k] }
	f := startReloader(t, path, getenv)
	if got := f.run.source("front"); got != "rtsp://admin:old-Pw-1@cam/s" {
		t.Fatalf("source at start = %q", got)
	}
	kubeletWrite(t, secrets, map[string]string{"front-pass": "new-Pw-2\n"})
	f.waitCounts(t, "secret rotated", 1, 0)
	if got := f.run.source("front"); got != "rtsp://admin:new-Pw-2@cam/s" {
		t.Errorf("source after the rotation = %q, want the new password", got)
	}
	if log := f.log.String(); strings.Contains(log, "Pw-1") || strings.Contains(log, "Pw-2") || !strings.Contains(log, `"changed":["front"]`) {
		t.Errorf("log shows a password, or not the change of front:\n%s", log)
	}
	// The secret gone: an error, the camera keeps its password.
	if err := os.Remove(filepath.Join(secrets, "front-pass")); err != nil {
		t.Fatal(err)
	}
	f.waitCounts(t, "secret deleted", 1, 1)
	if !strings.Contains(f.log.String(), "${file:"+filepath.Join(secrets, "front-pass")+"}: no such file or directory") {
		t.Errorf("log does not say which file is missing:\n%s", f.log)
	}
}
