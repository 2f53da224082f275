package e2e

import (
	"context"
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
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM of cert
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+".pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue signs a leaf certificate for 127.0.0.1 and returns its cert and key files.
func (ca *testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Capture with mutual TLS on its gRPC port: the edge with its client
// certificate streams; plaintext clients, clients without a certificate and
// clients with a certificate of another CA are refused; the plaintext
// health port still answers probes.
func TestFaultMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "camstream-ca")
	other := newTestCA(t, dir, "other-ca")
	serverCert, serverKey := ca.issue(t, dir, "capture", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.issue(t, dir, "edge", x509.ExtKeyUsageClientAuth)
	strangerCert, strangerKey := other.issue(t, dir, "stranger", x509.ExtKeyUsageClientAuth)

	healthAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	c := captureStart(t, []string{"--tls-cert", serverCert, "--tls-key", serverKey, "--tls-client-ca", ca.file, "--health-listen", healthAddr})
	target := []string{c.grpcAddr}

	edge := edgeStartEdge(t, target, "--capture-ca", ca.file, "--capture-cert", clientCert, "--capture-key", clientKey)
	s := edgeOpenStream(t, edge.url+"/cameras/test1/stream.mjpeg")
	if p := s.next(t, 30*time.Second); p.CameraID != "test1" {
		t.Errorf("stream over mutual TLS carries camera %q, want test1", p.CameraID)
	}
	s.close()

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	load := func(certFile, keyFile string) []tls.Certificate {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{cert}
	}
	for _, tt := range []struct {
		name   string
		creds  credentials.TransportCredentials
		wantOK bool
	}{
		{"plaintext client", insecure.NewCredentials(), false},
		{"TLS client without a certificate", credentials.NewTLS(&tls.Config{RootCAs: roots}), false},
		{"TLS client with another CA's certificate", credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: load(strangerCert, strangerKey)}), false},
		{"TLS client with the CA's certificate", credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: load(clientCert, clientKey)}), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, ctx := tlsDial(t, c.grpcAddr, tt.creds)
			resp, err := camstreamv1.NewCaptureServiceClient(conn).ListCameras(ctx, &camstreamv1.ListCamerasRequest{})
			if tt.wantOK && (err != nil || len(resp.GetCameras()) != 2) {
				t.Errorf("ListCameras = %d cameras, %v; want 2 cameras", len(resp.GetCameras()), err)
			}
			if !tt.wantOK && err == nil {
				t.Errorf("ListCameras answered %d cameras, want the call refused", len(resp.GetCameras()))
			}
		})
	}

	t.Run("edge without a client certificate is not ready", func(t *testing.T) {
		addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
		p := harness.Start(t, harness.Bin(t, "edge"), []string{"--listen", addr, "--capture", c.grpcAddr, "--capture-ca", ca.file})
		harness.WaitHTTP(t, "http://"+addr+"/healthz", 30*time.Second)
		time.Sleep(3 * time.Second) // a poll or two
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz of an edge refused by capture = %d, want 503", resp.StatusCode)
		}
		_ = p
	})

	t.Run("plaintext health port for probes", func(t *testing.T) {
		conn, ctx := tlsDial(t, healthAddr, insecure.NewCredentials())
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health on --health-listen = %v, %v; want SERVING", resp.GetStatus(), err)
		}
		_, err = camstreamv1.NewCaptureServiceClient(conn).ListCameras(ctx, &camstreamv1.ListCamerasRequest{})
		if err == nil {
			t.Errorf("ListCameras on the plaintext health port answered, want only health there")
		}
	})
}

// tlsDial connects to addr with creds for the rest of the test; calls
// under ctx get 10 s.
func tlsDial(t *testing.T, addr string, creds credentials.TransportCredentials) (*grpc.ClientConn, context.Context) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return conn, ctx
}
