package e2e

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// Every flag's help names its environment twin, ($NAME), and its default;
// the deploy tests rely on it.
func TestCaptureHelp(t *testing.T) {
	out, err := captureRun(t, 30*time.Second, harness.Bin(t, "capture"), "--help")
	if err != nil {
		t.Fatalf("capture --help: %v\n%s", err, out)
	}
	want := map[string]string{
		"listen": "CAPTURE_LISTEN", "http-listen": "CAPTURE_HTTP_LISTEN", "config": "CAPTURE_CONFIG",
		"shard": "CAPTURE_SHARD", "log-level": "CAPTURE_LOG_LEVEL",
	}
	// A flag's entry runs from its line ("  -h, --" or six spaces and
	// "--") to the next flag's.
	entry := regexp.MustCompile(`(?m)^  (?:-\w, |    )--([a-z-]+)`)
	envOf := regexp.MustCompile(`\(\$([A-Z0-9_]+)\)`)
	got := map[string]string{}
	starts := entry.FindAllStringSubmatchIndex(out, -1)
	for i, m := range starts {
		name, end := out[m[2]:m[3]], len(out)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		env := envOf.FindStringSubmatch(out[m[0]:end])
		if env == nil {
			if name != "help" {
				t.Errorf("flag --%s: help %q names no ($ENV_NAME)", name, strings.TrimSpace(out[m[0]:end]))
			}
			continue
		}
		got[name] = env[1]
	}
	for flag, env := range want {
		if got[flag] != env {
			t.Errorf("flag -%s: env twin %q, want %q\n%s", flag, got[flag], env, out)
		}
	}
	for _, def := range []string{`--listen=":50051"`, `--http-listen=":9090"`} {
		if !strings.Contains(out, def) {
			t.Errorf("--help lacks %s", def)
		}
	}
}

// An invalid configuration stops start-up with one clear line and a
// non-zero exit, before anything listens.
func TestCaptureInvalidConfig(t *testing.T) {
	bad := captureConfig(t, "cameras:\n  - id: front\n    source: rtsp://u:${NOT_SET_ANYWHERE}@cam/s\n")
	quality := captureConfig(t, "cameras:\n  - id: front\n    source: test://\n    quality: 0\n")
	rotate := captureConfig(t, "cameras:\n  - id: front\n    source: test://\n    rotate: 45\n")
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"missing env var", []string{"--config", bad}, nil, `camera "front": source: environment variable NOT_SET_ANYWHERE is not set`},
		{"quality out of range", []string{"--config", quality}, nil, `camera "front": quality: 0 is out of range 1..100`},
		{"odd rotate", []string{"--config", rotate}, nil, `camera "front": rotate: 45 is not one of 0, 90, 180, 270`},
		{"missing file", []string{"--config", "/nonexistent/cameras.yaml"}, nil, "camera file: open /nonexistent/cameras.yaml"},
		{"bad shard", []string{"--shard", "3/3"}, nil, "--shard:"},
		{"bad shard from env", nil, []string{"CAPTURE_SHARD=x/y"}, "--shard:"},
		{"bad seed variable", nil, []string{"OPENCV_CAMERA_SOURCE=gopher://cam"}, `unknown scheme "gopher"`},
		{"bad log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"stray argument", []string{"cameras.yaml"}, nil, "unexpected argument cameras.yaml (capture takes only flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := captureLaunch(t, tt.args, tt.env...)
			err := c.Wait(captureWait)
			if err == nil {
				t.Fatalf("capture exited 0, want a failure; output:\n%s", c.Output())
			}
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("capture did not exit: %v", err)
			}
			out := strings.TrimSpace(c.Output())
			if strings.Count(out, "\n") > 0 && !strings.Contains(tt.name, "argument") {
				t.Errorf("output has %d lines, want one:\n%s", strings.Count(out, "\n")+1, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output = %q, want it to contain %q", out, tt.want)
			}
			if conn, err := net.DialTimeout("tcp", c.grpcAddr, time.Second); err == nil {
				conn.Close()
				t.Errorf("something listens on capture's gRPC address after a failed start")
			}
		})
	}
}

// SIGTERM and SIGINT end open streams and exit 0.
func TestCaptureGracefulShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			c := captureStart(t, nil)
			c.waitState(t, "test1", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
			ctx, cancel := context.WithTimeout(context.Background(), captureWait)
			defer cancel()
			stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "test1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); err != nil {
				t.Fatal(err)
			}
			if err := c.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for err == nil {
				_, err = stream.Recv()
			}
			if code := status.Code(err); code != codes.Unavailable {
				t.Errorf("open stream ended with %v, want UNAVAILABLE", err)
			}
			if err := c.Wait(captureWait); err != nil {
				t.Fatalf("capture after %v: %v, want exit 0; output:\n%s", sig, err, c.Output())
			}
			if !c.Contains(`"msg":"capture stopped"`) {
				t.Errorf("capture did not log its orderly stop:\n%s", c.Output())
			}
		})
	}
}

// Environment twins configure capture when no flag is given; a flag wins
// over its variable (CAPTURE_HTTP_LISTEN names a port capture could not
// bind, --http-listen a free one).
func TestCaptureEnvironment(t *testing.T) {
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	cfg := captureConfig(t, "cameras:\n  - id: yard\n    source: test://smpte\n    fps: 10\n")
	p := harness.Start(t, harness.Bin(t, "capture"), []string{"--http-listen", httpAddr},
		"CAPTURE_LISTEN="+grpcAddr, "CAPTURE_HTTP_LISTEN=127.0.0.1:1", "CAPTURE_CONFIG="+cfg, "CAPTURE_LOG_LEVEL=debug")
	harness.WaitHTTP(t, "http://"+httpAddr+"/readyz", captureWait)
	c := &captureProc{Process: p, grpcAddr: grpcAddr, httpAddr: httpAddr}
	c.client, c.health = captureDial(t, grpcAddr)
	cams := c.cameras(t)
	if len(cams) != 1 || cams[0].Id != "yard" {
		t.Fatalf("cameras = %v, want only yard from $CAPTURE_CONFIG", cams)
	}
}

func TestCaptureSeedVariable(t *testing.T) {
	c := captureStart(t, nil, "OPENCV_CAMERA_SOURCE=test://smpte")
	cams := c.cameras(t)
	if len(cams) != 1 || cams[0].Id != "cam1" || cams[0].Source != "test://smpte" {
		t.Fatalf("cameras = %v, want one camera cam1 reading test://smpte", cams)
	}
}

// Two shards of one camera file own disjoint sets of cameras that add up
// to all of them, by FNV-1a of the id.
func TestCaptureShards(t *testing.T) {
	var yaml strings.Builder
	yaml.WriteString("cameras:\n")
	var all []string
	for i := range 8 {
		id := fmt.Sprintf("cam-%d", i)
		all = append(all, id)
		fmt.Fprintf(&yaml, "  - id: %s\n    source: test://\n    fps: 2\n    width: 160\n    on_demand: true\n", id)
	}
	cfg := captureConfig(t, yaml.String())
	var got []string
	for i := range 2 {
		c := captureStart(t, []string{"--config", cfg, "--shard", fmt.Sprintf("capture-%d/2", i)})
		for _, cam := range c.cameras(t) {
			h := fnv.New32a()
			h.Write([]byte(cam.Id))
			if int(h.Sum32()%2) != i {
				t.Errorf("shard %d/2 owns %s, whose hash says shard %d", i, cam.Id, h.Sum32()%2)
			}
			got = append(got, cam.Id)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(all, ",") {
		t.Errorf("the shards own %v together, want each of %v once", got, all)
	}
}
