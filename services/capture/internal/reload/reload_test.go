package reload

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second // generous: the machine may be busy

// running stands for the camera set: it records what was applied.
type running struct {
	mu       sync.Mutex
	cams     map[string]config.Camera
	changes  int // applies that changed something
	ok, errs int
}

func (r *running) apply(cams []config.Camera) camera.Changes {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ch camera.Changes
	next := make(map[string]config.Camera)
	for _, c := range cams {
		old, ok := r.cams[c.ID]
		switch {
		case !ok:
			ch.Added = append(ch.Added, c.ID)
		case !old.Equal(c):
			ch.Changed = append(ch.Changed, c.ID)
		}
		next[c.ID] = c
	}
	for id := range r.cams {
		if _, ok := next[id]; !ok {
			ch.Removed = append(ch.Removed, id)
		}
	}
	r.cams = next
	if !ch.Empty() {
		r.changes++
	}
	return ch
}

func (r *running) ConfigReloaded(ok bool, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.ok++
	} else {
		r.errs++
	}
}

// counts returns the successful and failed reloads.
func (r *running) counts() (ok, errs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok, r.errs
}

func (r *running) source(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cams[id].Source.Raw()
}

func (r *running) ids() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.cams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// syncBuf is a log that tests read while the reloader writes it.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a Reloader running on a camera file in dir.
type fixture struct {
	path string
	run  *running
	hup  chan os.Signal
	log  *syncBuf
}

// startReloader loads path as capture's start-up does, then runs a
// Reloader on it until the test ends.
func startReloader(t *testing.T, path string, getenv func(string) string) *fixture {
	t.Helper()
	f := &fixture{path: path, run: &running{}, hup: make(chan os.Signal, 1), log: &syncBuf{}}
	cams, err := config.Load(path, config.Env{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	f.run.apply(cams)
	r := New(Options{
		Path: path, Getenv: getenv, Apply: f.run.apply, Observer: f.run,
		Logger:   slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Debounce: 30 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, f.hup)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("reloader log:\n%s", f.log)
		}
	})
	// Run's first read is its baseline: wait until it is watching.
	time.Sleep(100 * time.Millisecond)
	return f
}

// waitCounts waits for ok successful and errs failed reloads, then checks
// that no other comes after.
func (f *fixture) waitCounts(t *testing.T, what string, ok, errs int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		gotOK, gotErrs := f.run.counts()
		if gotOK == ok && gotErrs == errs {
			break
		}
		if gotOK > ok || gotErrs > errs || time.Now().After(deadline) {
			t.Fatalf("%s: %d successful and %d failed reloads, want %d and %d", what, gotOK, gotErrs, ok, errs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The events of one change come within milliseconds; a second reload
	// for the same change would come within the quiet time.
	time.Sleep(300 * time.Millisecond)
	if gotOK, gotErrs := f.run.counts(); gotOK != ok || gotErrs != errs {
		t.Fatalf("%s: then %d successful and %d failed reloads, want exactly %d and %d", what, gotOK, gotErrs, ok, errs)
	}
}

func cameraFile(ids ...string) string {
	var b strings.Builder
	b.WriteString("cameras:\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "  - id: %s\n    source: test://ball\n", id)
	}
	return b.String()
}

// kubeletWrite updates dir the way the kubelet updates a mounted ConfigMap
// or Secret: the files go to a new timestamped directory, a ..data_tmp
// symlink to it is renamed over ..data (atomic), each file name is a
// symlink into ..data (made once), and the old directory is removed.
func kubeletWrite(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	ts := fmt.Sprintf("..%s", time.Now().Format("2006_01_02_15_04_05.000000000"))
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, ts, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

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
