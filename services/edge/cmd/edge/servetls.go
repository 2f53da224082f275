package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/camstream/camstream/services/edge/internal/reload"
)

// servingTLS is the TLS configuration of the edge's own listener: TLS 1.2
// at least, HTTP/2 offered by ALPN beside HTTP/1.1, and the certificate
// read again from its files when they change, for new connections only:
// open connections, and the streams on them, keep the one they began with.
// nil, nil when certFile and keyFile are both empty.
func servingTLS(log *slog.Logger, certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together: give both")
	}
	load := func() (*tls.Certificate, error) {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return &cert, nil
	}
	cert, err := reload.New(log, load, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cert.Get(), nil
		},
	}, nil
}

// protocols are the HTTP versions served: HTTP/1.1, and HTTP/2 over TLS.
func protocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	return &p
}
