package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
)

// localPod is one container of a rendered pod, started on this machine
// the way the kubelet would start it: the image's binary with exactly the
// container's args and env (downward API, Secrets and $(VAR) resolved),
// its ConfigMap volumes as files, as the pod's user when the test runs as
// root. Only addresses change: each container port becomes a free port on
// 127.0.0.1, mount paths point into a scratch root, and a Service address
// points at the local pod behind it.
type localPod struct {
	Name  string
	W     workload
	C     *corev1.Container
	Ports map[int32]int // container port → port on 127.0.0.1
	Args  []string
	Env   []string
	root  string
	proc  *harness.Process
	image *imageRun // when the pod runs its image (buildah), not bin/
}

type podOptions struct {
	PodName string
	// Secrets are the Secrets' contents: name → key → value.
	Secrets map[string]map[string]string
	// File may rewrite a file a ConfigMap volume mounts (key → data).
	File func(key, data string) string
	// Backends are the pods already started, which Service addresses in
	// env and args resolve to: every pod behind the Service, as a
	// comma-separated list (as a headless Service resolves to all).
	Backends []*localPod
	// Image runs the container's image with buildah instead of the binary
	// from bin/: mounts at their own paths, the image's user.
	Image bool
}

func startPod(t *testing.T, m *manifests, w workload, container string, opts podOptions) *localPod {
	t.Helper()
	c := w.Container(t, container)
	root, err := os.MkdirTemp("", "camstream-pod-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	// Readable by the pod's user, writable only where volumes are.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &localPod{Name: opts.PodName, W: w, C: c, Ports: map[int32]int{}, root: root}
	if opts.Image {
		p.image = &imageRun{}
	}

	bin := imageBinary(c.Image)
	entry := filepath.Join(root, "usr/local/bin", bin)
	if !opts.Image {
		copyFile(t, harness.Bin(t, bin), entry)
		if err := os.Chmod(entry, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p.mountVolumes(t, m, opts)
	for _, cp := range c.Ports {
		p.Ports[cp.ContainerPort] = harness.FreePort(t)
	}

	env, err := resolveEnvList(m, w, c, opts.PodName, opts.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{}
	listened := map[int32]bool{}
	for _, e := range env {
		vals[e.Name] = e.Value
		p.Env = append(p.Env, e.Name+"="+p.localize(t, m, e.Value, opts.Backends, listened))
	}
	for _, a := range c.Args {
		p.Args = append(p.Args, p.localize(t, m, expandRefs(a, vals), opts.Backends, listened))
	}
	for _, cp := range c.Ports {
		if !listened[cp.ContainerPort] {
			t.Fatalf("%s: container port %d: no listen address in env or args to move to 127.0.0.1", w.ID(), cp.ContainerPort)
		}
	}

	if opts.Image {
		p.startImage(t)
		return p
	}
	// What the container runtime adds: the image's PATH, HOSTNAME, HOME.
	base := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + opts.PodName, "HOME=" + root}
	cmd := exec.Command(entry, p.Args...)
	cmd.Dir = root
	cmd.Env = append(base, p.Env...)
	if os.Geteuid() == 0 {
		s := effectiveSecurity(w.Template.Spec.SecurityContext, c.SecurityContext)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(s.runAsUser), Gid: uint32(s.runAsGroup)}}
	}
	p.proc = harness.StartCmd(t, w.ID(), cmd)
	return p
}

func (p *localPod) mountVolumes(t *testing.T, m *manifests, opts podOptions) {
	t.Helper()
	spec := &p.W.Template.Spec
	for _, vm := range p.C.VolumeMounts {
		v := volume(spec, vm.Name)
		dir := filepath.Join(p.root, vm.MountPath)
		switch {
		case v == nil:
			t.Fatalf("%s: mount %s: no volume %s", p.W.ID(), vm.MountPath, vm.Name)
		case v.ConfigMap != nil:
			cm := m.ConfigMap(v.ConfigMap.Name)
			if cm == nil {
				t.Fatalf("%s: volume %s: ConfigMap %s not rendered", p.W.ID(), v.Name, v.ConfigMap.Name)
			}
			// Laid out as the kubelet does (files behind a ..data
			// symlink it swaps on an update), so KubeletWrite can update
			// the volume the way the kubelet does.
			files := map[string]string{}
			for key, name := range configMapFiles(v.ConfigMap, cm) {
				data := cm.Data[key]
				if opts.File != nil {
					data = opts.File(key, data)
				}
				if strings.Contains(name, "/") {
					t.Fatalf("%s: volume %s: item path %q: only files at the volume's top are emulated", p.W.ID(), v.Name, name)
				}
				files[name] = data
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			harness.KubeletWrite(t, dir, files)
		case v.EmptyDir != nil:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o1777); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: volume %s: only ConfigMap and emptyDir volumes are emulated", p.W.ID(), v.Name)
		}
	}
}

var hostPortPattern = regexp.MustCompile(`[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]+`)

// localize rewrites one env value or arg for this machine: a listen
// address on a container port → 127.0.0.1:<its port>; a path under a
// mount → the same path in the scratch root; a Service's host:port → the
// local pod behind it.
func (p *localPod) localize(t *testing.T, m *manifests, v string, backends []*localPod, listened map[int32]bool) string {
	t.Helper()
	prefix, value := "", v
	if strings.HasPrefix(v, "-") && strings.Contains(v, "=") {
		f, val, _ := strings.Cut(v, "=")
		prefix, value = f+"=", val
	}
	if lm := listenPattern.FindStringSubmatch(value); lm != nil {
		port, _ := strconv.Atoi(lm[2])
		if host, ok := p.Ports[int32(port)]; ok {
			listened[int32(port)] = true
			return prefix + "127.0.0.1:" + strconv.Itoa(host)
		}
	}
	for _, vm := range p.C.VolumeMounts {
		if p.image != nil {
			break // the image sees its mounts where the pod spec puts them
		}
		if value == vm.MountPath || strings.HasPrefix(value, vm.MountPath+"/") {
			return prefix + filepath.Join(p.root, value)
		}
	}
	return prefix + hostPortPattern.ReplaceAllStringFunc(value, func(hp string) string {
		svc, sp, ok := lookupService(m, p.W.Namespace, hp)
		if !ok {
			return hp
		}
		// Every pod behind the Service that runs here, as a list of
		// targets (a headless Service resolves to all of them).
		var addrs []string
		for _, b := range backends {
			if got := m.PodsSelectedBy(t, svc.Namespace, metaSelector(svc.Spec.Selector)); len(got) == 1 && got[0].ID() == b.W.ID() {
				cp, ok := serviceTarget(b.W, sp)
				if !ok {
					t.Fatalf("Service %s port %d: no container port of %s", svc.Name, sp.Port, b.W.ID())
				}
				addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(b.Ports[cp.ContainerPort]))
			}
		}
		if len(addrs) == 0 {
			t.Fatalf("%s: %q names Service %s, but no pod behind it runs here", p.W.ID(), hp, svc.Name)
		}
		return strings.Join(addrs, ",")
	})
}

// MountDir is where a mount path of the container is on this machine.
func (p *localPod) MountDir(mountPath string) string { return filepath.Join(p.root, mountPath) }

// Addr is the local address of a container port.
func (p *localPod) Addr(containerPort int32) string {
	return "127.0.0.1:" + strconv.Itoa(p.Ports[containerPort])
}

// portURL is http://<local address of a named or numbered container
// port><path>.
func (p *localPod) portURL(t testing.TB, port, pathAndQuery string) string {
	t.Helper()
	u, err := p.httpURL(port, pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (p *localPod) httpURL(port, pathAndQuery string) (string, error) {
	name, number := port, 0
	if n, err := strconv.Atoi(port); err == nil {
		name, number = "", n
	}
	cp, ok := containerPort(p.C, name, int32(number))
	if !ok {
		return "", fmt.Errorf("%s: no container port %s", p.W.ID(), port)
	}
	return "http://" + p.Addr(cp.ContainerPort) + pathAndQuery, nil
}

// Probe runs a probe the way the kubelet does: gRPC health Check, or HTTP
// GET answering 200-399, or a TCP connect.
func (p *localPod) Probe(ctx context.Context, pr *corev1.Probe) error {
	timeout := time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second
	// A busy test machine is slower than a node: never fail on a second.
	timeout = max(timeout, 5*time.Second)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case pr.GRPC != nil:
		conn, err := grpc.NewClient(p.Addr(pr.GRPC.Port), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: ptrOr(pr.GRPC.Service, "")})
		if err != nil {
			return fmt.Errorf("gRPC health %s: %w", p.Addr(pr.GRPC.Port), err)
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("gRPC health %s: %s", p.Addr(pr.GRPC.Port), resp.Status)
		}
		return nil
	case pr.HTTPGet != nil:
		g := pr.HTTPGet
		u, err := p.httpURL(g.Port.String(), g.Path)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		for _, h := range g.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		req.Close = true
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return nil
	default:
		return fmt.Errorf("probe %+v: not emulated", pr.ProbeHandler)
	}
}

// WaitReady probes readiness until it passes (the kubelet's periodSeconds
// stand aside: a generous deadline instead), then checks liveness.
func (p *localPod) WaitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if p.proc.Exited() {
			t.Fatalf("%s exited before it was ready: %v\n%s", p.W.ID(), p.proc.Err(), p.proc.Output())
		}
		if err = p.Probe(context.Background(), p.C.ReadinessProbe); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: readiness probe still failing after %v: %v", p.W.ID(), timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for kind, pr := range map[string]*corev1.Probe{"liveness": p.C.LivenessProbe, "startup": p.C.StartupProbe} {
		if pr == nil {
			continue
		}
		if err := p.Probe(context.Background(), pr); err != nil {
			t.Errorf("%s: %s probe: %v", p.W.ID(), kind, err)
		}
	}
}

// Terminate stops the pod as the kubelet does after preStop: SIGTERM, and
// SIGKILL when terminationGracePeriodSeconds run out. It returns how the
// process ended, or an error when it had to be killed.
func (p *localPod) Terminate() error {
	grace := 30 * time.Second
	if g := p.W.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if c := p.C.Lifecycle; c != nil && c.PreStop != nil && c.PreStop.Sleep != nil {
		grace -= time.Duration(c.PreStop.Sleep.Seconds) * time.Second
	}
	pid := p.proc.Pid()
	if p.image != nil {
		pid = p.image.pid // the container's process, as the runtime signals it
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	if p.proc.Wait(grace) != nil && !p.proc.Exited() {
		p.proc.Kill()
		return fmt.Errorf("%s still running %v after SIGTERM: the kubelet would SIGKILL it", p.W.ID(), grace)
	}
	return p.proc.Err()
}

// Output is what the container printed.
func (p *localPod) Output() string { return p.proc.Output() }
