package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
)

// BenchmarkHTTPSVsHTTP: N viewers of the 720p30 camera over HTTPS (each
// on its own TLS connection, HTTP/2, as N browsers) against the same N
// over plain HTTP/1.1, from the same capture. In each run the plain edge is
// measured, then the HTTPS one, so https/http compares them on the
// machine of the moment. On a busy machine the HTTPS edge may deliver
// fewer frames than the plain one, so the edge's CPU is also given per
// frame delivered (µs), and TLS's cost per viewer at 30 fps from the
// difference: tls-cpu-per-viewer-%, in % of one core.
func BenchmarkHTTPSVsHTTP(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			// The upstream of an edge closes a second after its viewers
			// leave, so the idle edge costs nothing while the other runs.
			plain := startPipeline(b, pipelineOptions{edges: 1, edgeArgs: []string{"--upstream-grace", "1s"}})
			secure := plain.withHTTPSEdge(b)
			for b.Loop() {
				res, u := plain.load(b, n, 0)
				time.Sleep(2 * time.Second)
				sres, su := secure.load(b, n, 0)
				time.Sleep(2 * time.Second)
				b.ReportMetric(res.FPSMedian, "http-fps-median")
				b.ReportMetric(sres.FPSMedian, "https-fps-median")
				b.ReportMetric(sres.FPSMin, "https-fps-min")
				b.ReportMetric(u.edgeCPU, "http-edge-cpu-%")
				b.ReportMetric(su.edgeCPU, "https-edge-cpu-%")
				b.ReportMetric(su.edgeCPU/u.edgeCPU, "https/http")
				perFrame, sPerFrame := usPerFrame(u.edgeCPU, res.FPSMedian, n), usPerFrame(su.edgeCPU, sres.FPSMedian, n)
				b.ReportMetric(perFrame, "http-edge-us/frame")
				b.ReportMetric(sPerFrame, "https-edge-us/frame")
				b.ReportMetric((sPerFrame-perFrame)*30/1e4, "tls-cpu-per-viewer-%")
				b.ReportMetric(float64(su.edgeRSS)/(1<<20), "https-edge-rss-MiB")
				b.ReportMetric(su.clientCPU, "https-client-cpu-%")
				b.Logf("http/1.1: %s edge_cpu=%.1f%%; https/h2: %s edge_cpu=%.1f%% (user %.1f%%, sys %.1f%%) client_cpu=%.1f%%; machine_busy=%.0f%%/%.0f%%",
					res, u.edgeCPU, sres, su.edgeCPU, su.edgeUser, su.edgeSys, su.clientCPU, u.machineBusy, su.machineBusy)
			}
		})
	}
}

// usPerFrame is the edge's CPU time per frame it delivered, in µs: cpu in
// % of one core over viewers each receiving fps.
func usPerFrame(cpu, fps float64, viewers int) float64 {
	if fps <= 0 {
		return 0
	}
	return cpu / 100 * 1e6 / (fps * float64(viewers))
}

// withHTTPSEdge starts an HTTPS edge on p's capture, with a certificate
// made for the run, and returns a pipeline whose only edge it is.
func (p *pipeline) withHTTPSEdge(b *testing.B) *pipeline {
	b.Helper()
	certFile, keyFile, roots := selfSigned(b)
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	proc := harness.Start(b, harness.Bin(b, "edge"), []string{"--listen", addr, "--capture", p.grpc, "--log-level", "warn",
		"--upstream-grace", "1s", "--tls-cert", certFile, "--tls-key", keyFile})
	harness.WaitTCP(b, addr, 20*time.Second)
	secure := *p
	secure.edges = []*harness.Process{proc}
	secure.urls = []string{"https://" + addr}
	secure.tls = &tls.Config{RootCAs: roots}
	return &secure
}

// selfSigned writes an ECDSA P-256 certificate for 127.0.0.1 (what a
// browser would most likely negotiate with a modern certificate) and its
// key, and returns the files and a pool trusting it.
func selfSigned(b *testing.B) (certFile, keyFile string, roots *x509.CertPool) {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{certFile, "CERTIFICATE", der}, {keyFile, "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		b.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}
