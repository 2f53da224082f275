package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// KubeletWrite updates dir the way the kubelet updates a mounted ConfigMap
// or Secret (its AtomicWriter): the files go to a new timestamped
// directory, a ..data_tmp symlink to it is renamed over ..data in one
// step, every file name is a symlink into ..data (made on the first
// write), and the previous timestamped directory is removed. A reader
// always sees either every old file or every new one.
func KubeletWrite(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	ts := ".." + time.Now().Format("2006_01_02_15_04_05.000000000")
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatalf("kubelet write: %v", err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, ts, name), []byte(content), 0o644); err != nil {
			t.Fatalf("kubelet write: %v", err)
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatalf("kubelet write: %v", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatalf("kubelet write: %v", err)
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatalf("kubelet write: %v", err)
			}
		}
	}
	if old != "" && old != ts {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatalf("kubelet write: %v", err)
		}
	}
}

// KubeletMount is a new directory mounted the kubelet's way with files,
// and the path of the file called name in it.
func KubeletMount(t testing.TB, name string, files map[string]string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	KubeletWrite(t, dir, files)
	return dir, filepath.Join(dir, name)
}
