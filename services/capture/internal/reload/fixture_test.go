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
	"testing"
	"time"

	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

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
