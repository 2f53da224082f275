package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
)

// imageRun is a local pod's container run from its image with buildah
// (chroot isolation, the host's network: this machine has no container
// runtime that can set up cgroups).
type imageRun struct {
	ctr    string // buildah working container
	config imageConfig
	pid    int // the image's entrypoint process
}

type imageConfig struct {
	User       string
	Entrypoint []string
	Env        []string
}

// requireImages skips without buildah and fails, naming the command, when
// the dev images are not built.
func requireImages(t *testing.T, images ...string) {
	t.Helper()
	harness.RequireTool(t, "buildah")
	for _, img := range images {
		if err := exec.Command("buildah", "inspect", "--type", "image", img).Run(); err != nil {
			t.Fatalf("image %s is not in the local storage: run 'make images'", img)
		}
	}
}

func buildah(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("buildah", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

func inspectImage(t testing.TB, image string) imageConfig {
	t.Helper()
	var img struct{ OCIv1 struct{ Config imageConfig } }
	if err := json.Unmarshal([]byte(buildah(t, "inspect", "--type", "image", image)), &img); err != nil {
		t.Fatalf("image %s config: %v", image, err)
	}
	return img.OCIv1.Config
}

// startImage runs the container's image: its entrypoint with the pod's
// args and env, as the image's user, every volume mounted at its path.
func (p *localPod) startImage(t *testing.T) {
	t.Helper()
	r := p.image
	r.config = inspectImage(t, p.C.Image)
	if len(r.config.Entrypoint) == 0 {
		t.Fatalf("image %s: no ENTRYPOINT", p.C.Image)
	}
	r.ctr = buildah(t, "from", "--pull=false", "-q", p.C.Image)
	t.Cleanup(func() { exec.Command("buildah", "rm", r.ctr).Run() })
	args := []string{"run", "--isolation", "chroot", "--network", "host", "--env", "HOSTNAME=" + p.Name}
	for _, e := range p.Env {
		args = append(args, "--env", e)
	}
	for _, vm := range p.C.VolumeMounts {
		opt := "rw"
		if vm.ReadOnly {
			opt = "ro"
		}
		args = append(args, "-v", filepath.Join(p.root, vm.MountPath)+":"+vm.MountPath+":"+opt)
	}
	args = append(append(append(args, r.ctr, "--"), r.config.Entrypoint...), p.Args...)
	p.proc = harness.StartCmd(t, p.W.ID(), exec.Command("buildah", args...))
	bin := filepath.Base(r.config.Entrypoint[0])
	harness.WaitFor(t, time.Minute, p.W.ID()+": the image's "+bin+" process", func() bool {
		r.pid = descendant(p.proc.Pid(), bin)
		return r.pid > 0 || p.proc.Exited()
	})
	if r.pid == 0 {
		t.Fatalf("%s: buildah run ended before %s started: %v\n%s", p.W.ID(), bin, p.proc.Err(), p.proc.Output())
	}
}

// descendant returns the pid of a process named comm under pid, or 0.
func descendant(pid int, comm string) int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	var named []int
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, cut at the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		name := string(stat[strings.IndexByte(string(stat), '(')+1 : i])
		if len(fields) > 1 {
			parent[id], _ = strconv.Atoi(fields[1])
		}
		if name == comm {
			named = append(named, id)
		}
	}
	for _, id := range named {
		for a := parent[id]; a > 1; a = parent[a] {
			if a == pid {
				return id
			}
		}
	}
	return 0
}

// processIDs returns the real uid and gid of a process.
func processIDs(pid int) (uid, gid int64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Uid:":
			uid, err = strconv.ParseInt(f[1], 10, 64)
		case "Gid:":
			gid, err = strconv.ParseInt(f[1], 10, 64)
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// mountImage returns the root of the pod's container filesystem.
func (p *localPod) mountImage(t testing.TB) string {
	t.Helper()
	return buildah(t, "mount", p.image.ctr)
}
