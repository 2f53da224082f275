package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
)

// httpsEdge is an edge serving HTTPS with a certificate of its own CA.
type httpsEdge struct {
	*edgeProc
	ca                *testCA
	dir               string
	certFile, keyFile string
}

// edgeStartHTTPS starts bin/edge over HTTPS (a certificate for 127.0.0.1
// from a CA made for the test) in front of the capture targets.
func edgeStartHTTPS(t *testing.T, targets []string, args ...string) *httpsEdge {
	t.Helper()
	dir := t.TempDir()
	ca := newTestCA(t, dir, "edge-ca")
	certFile, keyFile := ca.issue(t, dir, "edge", x509.ExtKeyUsageServerAuth)
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	args = append([]string{"--listen", addr, "--capture", strings.Join(targets, ","), "--tls-cert", certFile, "--tls-key", keyFile}, args...)
	e := &httpsEdge{
		edgeProc: &edgeProc{Process: harness.Start(t, harness.Bin(t, "edge"), args), url: "https://" + addr},
		ca:       ca, dir: dir, certFile: certFile, keyFile: keyFile,
	}
	client := e.client(false)
	harness.WaitFor(t, 30*time.Second, "edge ready over HTTPS", func() bool {
		resp, err := client.Get(e.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return e
}

// roots trusts the edge's CA.
func (e *httpsEdge) roots() *x509.CertPool {
	roots := x509.NewCertPool()
	roots.AddCert(e.ca.cert)
	return roots
}

// client is an HTTPS client trusting the edge's CA, over HTTP/2 when h2,
// HTTP/1.1 only otherwise. Its connections are closed when the test ends.
func (e *httpsEdge) client(h2 bool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots()}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr}
}

// HTTPS: a Go client with ForceAttemptHTTP2 gets HTTP/2 and a stream over
// it; a client offering only HTTP/1.1 still gets HTTP/1.1; TLS 1.1 is
// refused; curl --http2 negotiates HTTP/2.
func TestEdgeHTTPSNegotiatesHTTP2(t *testing.T) {
	c := edgeStartCapture(t, edgeTestCameras("tls", 1))
	e := edgeStartHTTPS(t, []string{c.grpcAddr})

	for _, tt := range []struct {
		h2        bool
		wantProto string
	}{{true, "HTTP/2.0"}, {false, "HTTP/1.1"}} {
		client := e.client(tt.h2)
		resp, err := client.Get(e.url + "/cameras/tls-1/stream.mjpeg")
		if err != nil {
			t.Fatalf("GET stream (h2 %v): %v", tt.h2, err)
		}
		if resp.Proto != tt.wantProto {
			t.Errorf("stream (h2 %v): protocol %s, want %s", tt.h2, resp.Proto, tt.wantProto)
		}
		s := &edgeStream{resp: resp, parts: mjpeg.NewReader(resp.Body)}
		for range 3 {
			if p := s.next(t, 30*time.Second); p.CameraID != "tls-1" {
				t.Errorf("stream (h2 %v): part of camera %q, want tls-1", tt.h2, p.CameraID)
			}
		}
		s.close()
		client.CloseIdleConnections()
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots(), MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(e.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("TLS 1.1 client: got %s, want the handshake refused", resp.Status)
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (scripts/install-deps.sh installs it)")
	}
	out, err := exec.Command(curl, "--silent", "--show-error", "--http2", "--cacert", e.ca.file,
		"--output", "/dev/null", "--write-out", "%{http_version} %{http_code}", e.url+"/api/cameras").CombinedOutput()
	if err != nil {
		t.Fatalf("curl --http2: %v: %s", err, out)
	}
	if got := string(out); got != "2 200" {
		t.Errorf("curl --http2: version and status %q, want \"2 200\"", got)
	}
}

// get fetches path over HTTPS (HTTP/1.1) and returns its status and body.
func (e *httpsEdge) get(t *testing.T, path string) (int, string) {
	t.Helper()
	client := e.client(false)
	client.Timeout = 10 * time.Second
	defer client.CloseIdleConnections()
	resp, err := client.Get(e.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}
