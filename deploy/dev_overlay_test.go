package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/rtspserver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The dev overlay, run for real: bin/capture and bin/edge started with
// exactly their containers' args and env (ports moved to 127.0.0.1, the
// camera file from the ConfigMap written where the volume mounts it, the
// Secrets from the overlay's examples), probed like the kubelet, and edge
// must stream frames of every camera from capture through the target its
// env names. The ConfigMap's RTSP camera is pointed at a real RTSP server
// on 127.0.0.1 that wants the example Secret's user and password, so the
// credentials travel Secret → env → ${VAR} → RTSP for real.
func TestDevOverlayRunsWithTheRealBinaries(t *testing.T) {
	m := render(t, "overlays/dev")
	secrets := exampleSecrets(t, m.Dir)
	capture, edge := m.Workload(t, "capture"), m.Workload(t, "edge")
	cf := cameraFileOf(t, m, capture, capture.Container(t, "capture"))

	capEnv, err := resolveEnv(m, capture, capture.Container(t, "capture"), "capture-0", secrets)
	if err != nil {
		t.Fatal(err)
	}
	local := startRTSPFor(t, cf, capEnv)

	capPod := startPod(t, m, capture, "capture", podOptions{PodName: "capture-0", Secrets: secrets, File: local})
	capPod.WaitReady(t, time.Minute)
	edgePod := startPod(t, m, edge, "edge", podOptions{PodName: "edge-7d9c5b7f9-x2x4q", Secrets: secrets, Backends: []*localPod{capPod}})
	edgePod.WaitReady(t, time.Minute)

	// capture read the ConfigMap's camera file with its own config code.
	grpcPort, _ := containerPort(capPod.C, "grpc", 0)
	if got, want := listCameras(t, capPod.Addr(grpcPort.ContainerPort)), cameraIDs(cf); !slices.Equal(got, want) {
		t.Errorf("capture ListCameras: got %v, want the camera file's %v", got, want)
	}

	// Users come in through the edge Service (port 6060 → targetPort).
	svc := m.Service("edge")
	cp, ok := serviceTarget(edge, svc.Spec.Ports[0])
	if !ok {
		t.Fatalf("Service edge: targetPort %s: no container port", svc.Spec.Ports[0].TargetPort.String())
	}
	edgeURL := "http://" + edgePod.Addr(cp.ContainerPort)
	edgeEnv, err := resolveEnv(m, edge, edgePod.C, edgePod.Name, secrets)
	if err != nil {
		t.Fatal(err)
	}
	token := edgeEnv["EDGE_AUTH_TOKEN"]
	if token == "" {
		t.Fatal("edge: the edge-auth example sets no token: the auth path would go untested")
	}
	for _, cam := range cf.Cameras {
		t.Run("stream "+cam.ID, func(t *testing.T) {
			frames, err := readMJPEG(t, edgeURL+"/cameras/"+cam.ID+"/stream.mjpeg", token, 3)
			if err != nil {
				t.Fatalf("GET /cameras/%s/stream.mjpeg: %v", cam.ID, err)
			}
			for i, f := range frames {
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(f))
				if err != nil || cfg.Width == 0 {
					t.Errorf("frame %d: got a %d-byte part that is not a JPEG image: %v", i, len(f), err)
				}
			}
		})
	}
	if code := getStatus(t, edgeURL+"/cameras/"+cf.Cameras[0].ID+"/snapshot.jpg", ""); code != http.StatusUnauthorized {
		t.Errorf("snapshot without the token: got %d, want 401 (EDGE_AUTH_TOKEN from the Secret is in force)", code)
	}

	// Prometheus scrapes where the annotations say.
	for _, p := range []*localPod{capPod, edgePod} {
		a := p.W.Template.Annotations
		body := getBody(t, p.portURL(t, a["prometheus.io/port"], a["prometheus.io/path"]))
		if !strings.Contains(body, "camstream_") {
			t.Errorf("%s: %s at port %s: no camstream_ metrics in %d bytes", p.W.ID(), a["prometheus.io/path"], a["prometheus.io/port"], len(body))
		}
	}

	// The kubelet stops a pod with SIGTERM (after preStop) and kills it
	// when the grace period runs out: with a viewer connected, edge must
	// end the stream and exit in time, and so must capture.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	viewer, err := openStream(ctx, edgeURL+"/cameras/"+cf.Cameras[0].ID+"/stream.mjpeg", token)
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Body.Close()
	for _, p := range []*localPod{edgePod, capPod} {
		if err := p.Terminate(); err != nil {
			t.Errorf("%s on SIGTERM: %v", p.W.ID(), err)
		}
	}
	if _, err := io.Copy(io.Discard, viewer.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("viewer stream ended with %v", err)
	}
}

// startRTSPFor starts a real RTSP server on 127.0.0.1 serving every RTSP
// camera's path with the credentials the camera's URL gets from env, and
// returns a rewrite of the camera file pointing those cameras at it.
func startRTSPFor(t *testing.T, cf cameraFile, env map[string]string) func(key, data string) string {
	t.Helper()
	var paths []string
	var user, pass string
	hosts := map[string]bool{}
	for _, cam := range cf.Cameras {
		if !strings.HasPrefix(cam.Source, "rtsp://") {
			continue
		}
		u, err := url.Parse(varPattern.ReplaceAllStringFunc(cam.Source, func(v string) string {
			return url.PathEscape(env[v[2:len(v)-1]])
		}))
		if err != nil {
			t.Fatalf("camera %s: %v", cam.ID, err)
		}
		p, _ := u.User.Password()
		if len(paths) > 0 && (u.User.Username() != user || p != pass) {
			t.Fatalf("camera %s: the local RTSP server takes one user and password for all cameras", cam.ID)
		}
		user, pass = u.User.Username(), p
		paths = append(paths, u.Path)
		hosts[u.Host] = true
	}
	if len(paths) == 0 {
		return nil
	}
	srv := rtspserver.Start(t, rtspserver.Options{Paths: paths, User: user, Password: pass, Width: 640, Height: 360, FPS: 15})
	local := "127.0.0.1:" + strconv.Itoa(srv.Port())
	return func(_, data string) string {
		for h := range hosts {
			data = strings.ReplaceAll(data, "@"+h+"/", "@"+local+"/")
		}
		return data
	}
}

// listCameras asks capture for its cameras' ids, sorted.
func listCameras(t testing.TB, addr string) []string {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := camstreamv1.NewCaptureServiceClient(conn).ListCameras(ctx, &camstreamv1.ListCamerasRequest{})
	if err != nil {
		t.Fatalf("ListCameras %s: %v", addr, err)
	}
	var ids []string
	for _, c := range resp.GetCameras() {
		ids = append(ids, c.GetId())
		if strings.Contains(c.GetSource(), "CHANGE-ME") {
			t.Errorf("ListCameras: camera %s source %q shows a credential", c.GetId(), c.GetSource())
		}
	}
	slices.Sort(ids)
	return ids
}

func cameraIDs(cf cameraFile) []string {
	var ids []string
	for _, c := range cf.Cameras {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

func openStream(ctx context.Context, u, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Close = true
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("got %s (%s), want 200", resp.Status, bytes.TrimSpace(body))
	}
	return resp, nil
}

// readMJPEG reads n JPEG parts of an MJPEG stream.
func readMJPEG(t testing.TB, u, token string, n int) ([][]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := openStream(ctx, u, token)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" || params["boundary"] == "" {
		return nil, fmt.Errorf("Content-Type %q: want multipart/x-mixed-replace with a boundary", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var frames [][]byte
	for len(frames) < n {
		part, err := mr.NextPart()
		if err != nil {
			return frames, fmt.Errorf("part %d: %w", len(frames), err)
		}
		if ct := part.Header.Get("Content-Type"); ct != "image/jpeg" {
			return frames, fmt.Errorf("part %d: Content-Type %q, want image/jpeg", len(frames), ct)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return frames, fmt.Errorf("part %d: %w", len(frames), err)
		}
		frames = append(frames, data)
	}
	return frames, nil
}

func getStatus(t testing.TB, u, token string) int {
	t.Helper()
	resp := get(t, u, token)
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func getBody(t testing.TB, u string) string {
	t.Helper()
	resp := get(t, u, "")
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s, %v", u, resp.Status, err)
	}
	return string(body)
}

func get(t testing.TB, u, token string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Close = true
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}
