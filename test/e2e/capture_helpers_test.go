package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// captureWait is how long the capture tests wait for anything: generous,
// the machine may be busy.
const captureWait = 60 * time.Second

// captureProc is a running bin/capture with a gRPC client connected to it.
type captureProc struct {
	*harness.Process
	args     []string // all of them, its addresses included
	env      []string
	grpcAddr string
	httpAddr string
	client   camstreamv1.CaptureServiceClient
	health   healthpb.HealthClient
	started  time.Time
}

// captureStart starts bin/capture on free 127.0.0.1 ports with args and
// extra environment, and waits until it is ready.
func captureStart(t testing.TB, args []string, env ...string) *captureProc {
	t.Helper()
	c := captureLaunch(t, args, env...)
	harness.WaitHTTP(t, "http://"+c.httpAddr+"/readyz", captureWait)
	return c
}

// captureLaunch starts bin/capture without waiting for it.
func captureLaunch(t testing.TB, args []string, env ...string) *captureProc {
	t.Helper()
	c := &captureProc{
		grpcAddr: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)),
	}
	c.args = append([]string{"--listen", c.grpcAddr, "--http-listen", c.httpAddr}, args...)
	c.env = env
	c.started = time.Now()
	c.Process = harness.Start(t, harness.Bin(t, "capture"), c.args, env...)
	c.client, c.health = captureDial(t, c.grpcAddr)
	return c
}

// captureDial connects a gRPC client to capture at addr.
func captureDial(t testing.TB, addr string) (camstreamv1.CaptureServiceClient, healthpb.HealthClient) {
	t.Helper()
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return camstreamv1.NewCaptureServiceClient(conn), healthpb.NewHealthClient(conn)
}

// restart starts capture again, after it exited or was killed, with the
// same arguments on the same ports, and waits until it is ready; the gRPC
// client reconnects by itself.
func (c *captureProc) restart(t testing.TB) {
	t.Helper()
	c.started = time.Now()
	c.Process = harness.Start(t, harness.Bin(t, "capture"), c.args, c.env...)
	harness.WaitHTTP(t, "http://"+c.httpAddr+"/readyz", captureWait)
}

// cameras returns ListCameras.
func (c *captureProc) cameras(t testing.TB) []*camstreamv1.Camera {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.client.ListCameras(ctx, &camstreamv1.ListCamerasRequest{})
	if err != nil {
		t.Fatalf("ListCameras: %v", err)
	}
	return resp.Cameras
}

// camera returns one camera from ListCameras.
func (c *captureProc) camera(t testing.TB, id string) *camstreamv1.Camera {
	t.Helper()
	for _, cam := range c.cameras(t) {
		if cam.Id == id {
			return cam
		}
	}
	t.Fatalf("camera %q not in ListCameras", id)
	return nil
}

// subscribers is camera id's subscriber count in ListCameras.
func (c *captureProc) subscribers(t testing.TB, id string) int32 {
	t.Helper()
	return c.camera(t, id).GetSubscribers()
}

// waitState waits until camera id is in one of states and returns it.
func (c *captureProc) waitState(t testing.TB, id string, timeout time.Duration, states ...camstreamv1.CameraState) *camstreamv1.Camera {
	t.Helper()
	var cam *camstreamv1.Camera
	harness.WaitFor(t, timeout, fmt.Sprintf("camera %s in state %v", id, states), func() bool {
		cam = c.camera(t, id)
		for _, s := range states {
			if cam.State == s {
				return true
			}
		}
		return false
	})
	return cam
}

// get returns the body of an HTTP GET on capture's HTTP port.
func (c *captureProc) get(t testing.TB, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + c.httpAddr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(body)
}

// captureConfig writes a camera file and returns its path.
func captureConfig(t testing.TB, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cameras.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// captureGrpcurl finds grpcurl in the repository's .tools/bin (where
// `make tools` puts it) or on PATH, and skips the test without it.
func captureGrpcurl(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	local := filepath.Join(filepath.Dir(file), "..", "..", ".tools", "bin", "grpcurl")
	if _, err := os.Stat(local); err == nil {
		return local
	}
	path, err := exec.LookPath("grpcurl")
	if err != nil {
		t.Skip("grpcurl is not installed: run 'make tools' (make test does)")
	}
	return path
}

// captureRun runs a command to completion and returns its combined output.
func captureRun(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// captureNoSecret fails the test when any of texts contains secret.
func captureNoSecret(t testing.TB, secret string, texts map[string]string) {
	t.Helper()
	for where, text := range texts {
		if i := strings.Index(text, secret); i >= 0 {
			t.Errorf("%s contains the camera password: ...%s...", where, text[max(0, i-80):min(len(text), i+40)])
		}
	}
}
