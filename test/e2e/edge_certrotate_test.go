package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
)

// servedSerial is the serial number of the certificate a new connection
// to the edge gets.
func (e *httpsEdge) servedSerial(t *testing.T) *big.Int {
	t.Helper()
	client := e.client(true)
	defer client.CloseIdleConnections()
	resp, err := client.Get(e.url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over HTTPS: %v", err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber
}

// The certificate and key are replaced in place while streams are open
// over HTTP/2 and HTTP/1.1: new connections get the new certificate, the
// open streams go on. A key file that does not match (a renewal half
// written) keeps the previous certificate.
func TestEdgeHTTPSCertificateRotation(t *testing.T) {
	c := edgeStartCapture(t, edgeTestCameras("rot", 1))
	e := edgeStartHTTPS(t, []string{c.grpcAddr})
	first := e.servedSerial(t)

	var streams []*edgeStream
	for _, h2 := range []bool{true, false} {
		resp, err := e.client(h2).Get(e.url + "/cameras/rot-1/stream.mjpeg")
		if err != nil {
			t.Fatal(err)
		}
		s := &edgeStream{resp: resp, parts: mjpeg.NewReader(resp.Body)}
		t.Cleanup(s.close)
		s.next(t, 30*time.Second)
		streams = append(streams, s)
	}

	// A new pair, written over the old files: the certificate first, the
	// key a moment later, as a renewal may land.
	newCert, newKey := e.ca.issue(t, e.dir, "edge-renewed", x509.ExtKeyUsageServerAuth)
	rename(t, newCert, e.certFile)
	time.Sleep(1500 * time.Millisecond) // past the edge's once-a-second check
	if got := e.servedSerial(t); got.Cmp(first) != 0 {
		t.Errorf("with the new certificate but the old key: served serial %v, want the old %v", got, first)
	}
	rename(t, newKey, e.keyFile)
	var second *big.Int
	harness.WaitFor(t, 10*time.Second, "the renewed certificate served", func() bool {
		second = e.servedSerial(t)
		return second.Cmp(first) != 0
	})
	leaf, err := x509.ParseCertificate(mustReadDER(t, e.certFile))
	if err != nil {
		t.Fatal(err)
	}
	if second.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("served serial %v, want the renewed certificate's %v", second, leaf.SerialNumber)
	}

	for i, s := range streams {
		for range 10 {
			s.next(t, 10*time.Second)
		}
		if s.resp.TLS.PeerCertificates[0].SerialNumber.Cmp(first) != 0 {
			t.Errorf("stream %d: began with serial %v, want %v", i, s.resp.TLS.PeerCertificates[0].SerialNumber, first)
		}
	}
	if e.Contains("PRIVATE KEY") {
		t.Error("the edge's log shows certificate material")
	}
	if !e.Contains(`"msg":"reloaded"`) {
		t.Errorf("the edge's log says nothing of the reload:\n%s", e.Output())
	}
}

// rename moves from over to, replacing it at once.
func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// mustReadDER is the first PEM block of a file.
func mustReadDER(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	return block.Bytes
}
