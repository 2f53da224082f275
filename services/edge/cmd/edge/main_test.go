package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "defaults",
			want: config{listen: ":8080", targets: []string{"localhost:50051"}, grace: 5 * time.Second, writeTimeout: 10 * time.Second},
		},
		{
			name: "environment",
			env:  map[string]string{"EDGE_LISTEN": ":9000", "EDGE_CAPTURE": "a:1, b:2", "EDGE_AUTH_TOKEN": "tok", "EDGE_MAX_VIEWERS": "50", "EDGE_LOG_LEVEL": "debug", "EDGE_UPSTREAM_GRACE": "1s"},
			want: config{listen: ":9000", targets: []string{"a:1", "b:2"}, authToken: "tok", maxViewers: 50, logLevel: slog.LevelDebug, grace: time.Second, writeTimeout: 10 * time.Second},
		},
		{
			name: "flags win over environment",
			args: []string{"--listen", ":7000", "--capture=dns:///capture:50051"},
			env:  map[string]string{"EDGE_LISTEN": ":9000", "EDGE_CAPTURE": "a:1"},
			want: config{listen: ":7000", targets: []string{"dns:///capture:50051"}, grace: 5 * time.Second, writeTimeout: 10 * time.Second},
		},
		{
			name: "HTTPS, base path, access file, write timeout",
			env:  map[string]string{"EDGE_TLS_CERT": "c.pem", "EDGE_TLS_KEY": "k.pem", "EDGE_BASE_PATH": "/cams/", "EDGE_ACCESS_FILE": "a.yaml", "EDGE_WRITE_TIMEOUT": "3s"},
			want: config{listen: ":8080", targets: []string{"localhost:50051"}, grace: 5 * time.Second, writeTimeout: 3 * time.Second,
				tlsCert: "c.pem", tlsKey: "k.pem", basePath: "/cams", accessFile: "a.yaml"},
		},
		{name: "bad base path", args: []string{"--base-path", "cams"}, wantErr: `--base-path="cams": must start with /`},
		{name: "zero write timeout", args: []string{"--write-timeout", "0s"}, wantErr: "--write-timeout=0s"},
		{name: "empty capture", args: []string{"--capture", " , "}, wantErr: "--capture is empty"},
		{name: "negative viewers", args: []string{"--max-viewers=-1"}, wantErr: "--max-viewers=-1"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: `--log-level="loud"`},
		{name: "bad environment value", env: map[string]string{"EDGE_MAX_VIEWERS": "many"}, wantErr: "EDGE_MAX_VIEWERS"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "unknown flag --nope"},
		{name: "arguments", args: []string{"extra"}, wantErr: "unexpected argument extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := parseFlags(tt.args, io.Discard, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.listen != tt.want.listen || !slices.Equal(got.targets, tt.want.targets) || got.authToken != tt.want.authToken ||
				got.maxViewers != tt.want.maxViewers || got.logLevel != tt.want.logLevel || got.grace != tt.want.grace ||
				got.tlsCert != tt.want.tlsCert || got.tlsKey != tt.want.tlsKey || got.basePath != tt.want.basePath ||
				got.accessFile != tt.want.accessFile || got.writeTimeout != tt.want.writeTimeout {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Every flag's help names its environment variable, and --help never
// shows a secret taken from the environment.
func TestHelp(t *testing.T) {
	t.Setenv("EDGE_AUTH_TOKEN", "hunter2")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stdout, io.Discard); err != nil {
		t.Fatalf("--help: %v, want nil", err)
	}
	help := stdout.String()
	// Each flag's entry runs from its line to the next flag's.
	entries := regexp.MustCompile(`(?m)^  (?:-\w, |    )--`).Split(help, -1)[1:]
	if len(entries) < 10 {
		t.Fatalf("--help lists %d flags, want every one:\n%s", len(entries), help)
	}
	for _, e := range entries {
		name := strings.FieldsFunc(e, func(r rune) bool { return r == '=' || r == ' ' })[0]
		if name != "help" && !regexp.MustCompile(`\(\$EDGE_[A-Z_]+\)`).MatchString(e) {
			t.Errorf("--%s does not name its environment variable:%s", name, e)
		}
	}
	for _, f := range []string{"listen", "capture", "auth-token", "max-viewers", "upstream-grace", "capture-key"} {
		if !strings.Contains(help, "--"+f+"") {
			t.Errorf("--help lacks --%s", f)
		}
	}
	if strings.Contains(help, "hunter2") {
		t.Errorf("--help shows the token from the environment")
	}
}

// run serves, is live but not ready without a capture, and stops cleanly
// when its context ends.
func TestRunServesAndShutsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// Nothing listens on port 1: no capture answers.
		done <- run(ctx, []string{"--listen", addr, "--capture", "127.0.0.1:1"}, io.Discard, io.Discard)
	}()
	status := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(10 * time.Second)
	for status("/healthz") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("/healthz not answering 200 after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz without a capture = %d, want 503", got)
	}
	if got := status("/"); got != http.StatusServiceUnavailable {
		t.Errorf("/ without a capture = %d, want 503", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run still running 15 s after cancel")
	}
}

func TestRunFailsOnBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = run(context.Background(), []string{"--listen", l.Addr().String()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("run on a busy port: %v, want a listen error", err)
	}
}

// Incomplete or unreadable TLS settings stop the edge with a message that
// names the flag to fix (the working case is an end-to-end test).
func TestCaptureTLSErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name          string
		ca, cert, key string
		wantErr       string
	}{
		{"cert without key", "", "c.pem", "", "--capture-cert and --capture-key go together"},
		{"unreadable CA", missing, "", "", "--capture-ca"},
		{"unreadable cert", "", missing, missing, "--capture-cert/--capture-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := captureTLS(false, tt.ca, tt.cert, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("captureTLS error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if cfg, err := captureTLS(false, "", "", ""); cfg != nil || err != nil {
		t.Errorf("captureTLS without flags = %v, %v; want plaintext (nil, nil)", cfg, err)
	}
	if cfg, err := captureTLS(true, "", "", ""); cfg == nil || err != nil {
		t.Errorf("captureTLS with --capture-tls = %v, %v; want TLS with the system roots", cfg, err)
	}
}

// Incomplete or unreadable serving certificates stop the edge with a
// message naming the flags.
func TestServingTLSErrors(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tt := range []struct {
		name, cert, key, wantErr string
	}{
		{"cert without key", "c.pem", "", "--tls-cert and --tls-key go together"},
		{"key without cert", "", "k.pem", "--tls-cert and --tls-key go together"},
		{"unreadable", missing, missing, "--tls-cert/--tls-key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := servingTLS(log, tt.cert, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("servingTLS error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if cfg, err := servingTLS(log, "", ""); cfg != nil || err != nil {
		t.Errorf("servingTLS without flags = %v, %v; want plain HTTP (nil, nil)", cfg, err)
	}
}
