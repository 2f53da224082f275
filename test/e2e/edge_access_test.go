package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
)

// accessCameras are the cameras of the access tests.
var accessCameras = []string{"front-door", "garden-1", "garden-2", "garage"}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeAccessFile writes an access file of name → (token, camera patterns).
func writeAccessFile(t *testing.T, path string, tokens map[string][2]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("tokens:\n")
	for name, tc := range tokens {
		fmt.Fprintf(&b, "  - name: %s\n    sha256: %s\n    cameras: [%s]\n", name, sha256Hex(tc[0]), tc[1])
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	rename(t, tmp, path)
}

// accessClient asks the edge with a token, passed the way via says.
type accessClient struct {
	base, token, via string
}

func (a accessClient) get(t *testing.T, path string) (*http.Response, error) {
	t.Helper()
	if a.via == "query" && a.token != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "token=" + a.token
	}
	req, err := http.NewRequestWithContext(harness.Context(t), http.MethodGet, a.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	switch a.via {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+a.token)
	case "basic":
		req.SetBasicAuth("viewer", a.token)
	}
	return http.DefaultClient.Do(req)
}

// status fetches path; a stream's response is checked for an MJPEG
// content type and closed after its headers.
func (a accessClient) status(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := a.get(t, path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if strings.Contains(path, ".mjpeg") && resp.StatusCode == http.StatusOK {
		if err := mjpeg.CheckResponse(resp); err != nil {
			t.Errorf("GET %s: %v", path, err)
		}
		return resp.StatusCode, ""
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// visible is the cameras a token sees on the list routes: the APIs, the
// two pages and the multiplexed stream without a camera list.
func (a accessClient) visible(t *testing.T) map[string][]string {
	t.Helper()
	got := make(map[string][]string)
	_, body := a.status(t, "/api/cameras")
	var list struct {
		Cameras []struct {
			ID string `json:"id"`
		} `json:"cameras"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("/api/cameras: %v: %s", err, body)
	}
	for _, c := range list.Cameras {
		got["/api/cameras"] = append(got["/api/cameras"], c.ID)
	}
	_, body = a.status(t, "/api/status?history=0")
	var status struct {
		Captures []json.RawMessage `json:"captures"`
		Cameras  []struct {
			ID string `json:"id"`
		} `json:"cameras"`
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil {
		t.Fatalf("/api/status: %v: %s", err, body)
	}
	for _, c := range status.Cameras {
		got["/api/status"] = append(got["/api/status"], c.ID)
	}
	if len(status.Captures) > 0 && len(got["/api/status"]) < len(accessCameras) {
		t.Errorf("/api/status shows the captures to a token that sees %d cameras", len(got["/api/status"]))
	}
	for _, page := range []string{"/", "/grid"} {
		_, body := a.status(t, page)
		for _, id := range accessCameras {
			if strings.Contains(body, `data-card="`+id+`"`) {
				got[page] = append(got[page], id)
			}
		}
	}
	resp, err := a.get(t, "/streams.mjpeg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		parts := mjpeg.NewReader(resp.Body)
		for range 4 * len(got["/api/cameras"]) {
			p, err := parts.Next()
			if err != nil {
				t.Fatalf("/streams.mjpeg: %v", err)
			}
			if !slices.Contains(got["/streams.mjpeg"], p.CameraID) {
				got["/streams.mjpeg"] = append(got["/streams.mjpeg"], p.CameraID)
			}
		}
	}
	for k := range got {
		slices.Sort(got[k])
	}
	return got
}

// The access matrix over the real binary: each token (the single
// --auth-token, two of the access file, a wrong one, none) × each camera ×
// each route. A camera a token may not see answers 404, the very page of a
// camera that does not exist; the list routes leave it out. The access
// file is read again when it changes.
func TestEdgeAccessMatrix(t *testing.T) {
	cams := make([]edgeCamera, len(accessCameras))
	for i, id := range accessCameras {
		cams[i] = edgeCamera{ID: id, Name: id, Source: "test://ball", FPS: 10, Width: 160}
	}
	c := edgeStartCapture(t, cams)
	accessFile := filepath.Join(t.TempDir(), "access.yaml")
	tokens := map[string][2]string{
		"family": {"family-secret-1", `front-door, "garden-*"`},
		"garage": {"garage-secret-2", "garage"},
	}
	writeAccessFile(t, accessFile, tokens)
	e := edgeStartEdge(t, []string{c.grpcAddr}, "--auth-token", "master-secret-0", "--access-file", accessFile)

	all := accessCameras
	for _, tt := range []struct {
		name string
		as   accessClient
		sees []string // nil: refused (401)
	}{
		{"auth-token", accessClient{e.url, "master-secret-0", "query"}, all},
		{"family", accessClient{e.url, "family-secret-1", "bearer"}, []string{"front-door", "garden-1", "garden-2"}},
		{"garage", accessClient{e.url, "garage-secret-2", "basic"}, []string{"garage"}},
		{"garage by query", accessClient{e.url, "garage-secret-2", "query"}, []string{"garage"}},
		{"wrong token", accessClient{e.url, "wrong-secret-9", "bearer"}, nil},
		{"no token", accessClient{e.url, "", ""}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range all {
				want := http.StatusUnauthorized
				if tt.sees != nil {
					want = http.StatusNotFound
					if slices.Contains(tt.sees, id) {
						want = http.StatusOK
					}
				}
				for _, route := range []string{"/cameras/%s", "/cameras/%s/stream.mjpeg", "/cameras/%s/snapshot.jpg", "/streams.mjpeg?cameras=%s"} {
					path := fmt.Sprintf(route, id)
					got, body := tt.as.status(t, path)
					if got != want {
						t.Errorf("GET %s: %d, want %d", path, got, want)
					}
					if got != http.StatusNotFound {
						continue
					}
					// Hidden is the same as absent, byte for byte.
					absent := fmt.Sprintf(route, "no-such-camera")
					_, absentBody := tt.as.status(t, absent)
					if strings.ReplaceAll(body, id, "no-such-camera") != absentBody {
						t.Errorf("GET %s: the 404 differs from that of a camera that does not exist", path)
					}
				}
			}
			if tt.sees == nil {
				for _, path := range []string{"/", "/grid", "/status", "/api/cameras", "/api/status", "/streams.mjpeg", "/video_feed"} {
					if got, _ := tt.as.status(t, path); got != http.StatusUnauthorized {
						t.Errorf("GET %s: %d, want 401", path, got)
					}
				}
				return
			}
			for route, ids := range tt.as.visible(t) {
				if !slices.Equal(ids, slices.Sorted(slices.Values(tt.sees))) {
					t.Errorf("%s shows %v, want %v", route, ids, tt.sees)
				}
			}
			if got, _ := tt.as.status(t, fmt.Sprintf("/video_feed?no=%d", len(tt.sees)+1)); got != http.StatusNotFound {
				t.Errorf("/video_feed?no=%d (one past its cameras): %d, want 404", len(tt.sees)+1, got)
			}
		})
	}
	if !e.Contains(`"msg":"wrong token"`) || e.Contains("wrong-secret-9") || e.Contains("family-secret-1") {
		t.Errorf("the edge's log should note the wrong token without any token:\n%s", e.Output())
	}

	// The file changes: the garage token now sees the garden too.
	tokens["garage"] = [2]string{"garage-secret-2", `garage, "garden-*"`}
	writeAccessFile(t, accessFile, tokens)
	garage := accessClient{e.url, "garage-secret-2", "bearer"}
	harness.WaitFor(t, 10*time.Second, "the changed access file read again", func() bool {
		got, _ := garage.status(t, "/cameras/garden-1/snapshot.jpg")
		return got == http.StatusOK
	})
	if got, _ := garage.status(t, "/cameras/front-door/snapshot.jpg"); got != http.StatusNotFound {
		t.Errorf("after the change, garage token on front-door: %d, want 404", got)
	}
}
