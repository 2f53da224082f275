package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camstream/camstream/services/capture/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    options
		wantErr string
	}{
		{"defaults", nil, nil, options{listen: ":50051", httpListen: ":9090", shard: config.Shard{Count: 1}}, ""},
		{"env twins", nil,
			map[string]string{"CAPTURE_LISTEN": ":1", "CAPTURE_HTTP_LISTEN": ":2", "CAPTURE_CONFIG": "c.yaml", "CAPTURE_SHARD": "capture-1/3", "CAPTURE_LOG_LEVEL": "debug"},
			options{listen: ":1", httpListen: ":2", configPath: "c.yaml", shard: config.Shard{Index: 1, Count: 3}, logLevel: -4}, ""},
		{"flags win over env", []string{"--listen", ":3", "--shard", "0/2"},
			map[string]string{"CAPTURE_LISTEN": ":1", "CAPTURE_SHARD": "bad"},
			options{listen: ":3", httpListen: ":9090", shard: config.Shard{Index: 0, Count: 2}}, ""},
		{"bad shard", []string{"--shard", "2/2"}, nil, options{}, "--shard"},
		{"bad log level", nil, map[string]string{"CAPTURE_LOG_LEVEL": "chatty"}, options{}, "--log-level"},
		{"bad env value", nil, map[string]string{"CAPTURE_SHARD": "3/2"}, options{}, "--shard"},
		{"unknown flag", []string{"--nope"}, nil, options{}, "unknown flag --nope"},
		{"stray argument", []string{"x"}, nil, options{}, "unexpected argument x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := parseFlags(tt.args, io.Discard, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseFlags = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var stdout bytes.Buffer
	_, err := parseFlags([]string{"--help"}, &stdout, io.Discard)
	if !errors.Is(err, errHelp) {
		t.Fatalf("parseFlags(--help) = %v, want errHelp", err)
	}
	for _, env := range []string{"($CAPTURE_LISTEN)", "($CAPTURE_HTTP_LISTEN)", "($CAPTURE_CONFIG)", "($CAPTURE_SHARD)", "($CAPTURE_LOG_LEVEL)",
		"($CAPTURE_TLS_CERT)", "($CAPTURE_TLS_KEY)", "($CAPTURE_TLS_CLIENT_CA)", "($CAPTURE_HEALTH_LISTEN)"} {
		if !strings.Contains(stdout.String(), env) {
			t.Errorf("--help lacks %s:\n%s", env, stdout.String())
		}
	}
}

// run serves the built-in cameras until its context ends, then returns nil
// with every goroutine stopped (goleak checks).
func TestRunStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"},
			func(string) string { return "" }, io.Discard, &logs)
	}()
	var httpAddr string
	deadline := time.Now().Add(30 * time.Second)
	for httpAddr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("capture did not start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, HTTP string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "capture listening" {
				httpAddr = rec.HTTP
			}
		}
	}
	resp, err := http.Get("http://" + httpAddr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /readyz = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after its context ended = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestRunRejectsBadConfigBeforeListening(t *testing.T) {
	err := run(context.Background(), []string{"--config", "/nonexistent.yaml", "--listen", "127.0.0.1:0"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "camera file") {
		t.Errorf("run with a missing camera file = %v, want a camera file error", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Incomplete or unreadable TLS settings stop capture with a message that
// names the flag to fix (the working case is an end-to-end test).
func TestServerCredentialsErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name                string
		cert, key, clientCA string
		wantErr             string
	}{
		{"cert without key", "c.pem", "", "", "--tls-cert and --tls-key go together"},
		{"key without cert", "", "k.pem", "", "--tls-cert and --tls-key go together"},
		{"client CA without cert", "", "", "ca.pem", "--tls-client-ca needs --tls-cert"},
		{"unreadable files", missing, missing, "", "--tls-cert/--tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := serverCredentials(tt.cert, tt.key, tt.clientCA)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("serverCredentials error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if creds, err := serverCredentials("", "", ""); creds != nil || err != nil {
		t.Errorf("serverCredentials without files = %v, %v; want plaintext (nil, nil)", creds, err)
	}
}

// TestWarnTimeZone: a TZ that names no time zone gets a warning, as Go
// silently falls back to UTC for it; a known zone, UTC or no TZ none.
func TestWarnTimeZone(t *testing.T) {
	for _, tt := range []struct {
		tz   string
		warn bool
	}{
		{"", false}, {"UTC", false}, {"Europe/Berlin", false}, {":Asia/Tokyo", false},
		{"Europe/Berln", true}, {"Nowhere", true},
	} {
		var logs syncBuffer
		warnTimeZone(slog.New(slog.NewJSONHandler(&logs, nil)), tt.tz)
		if got := strings.Contains(logs.String(), "TZ names no known time zone"); got != tt.warn {
			t.Errorf("TZ=%q: warned %v, want %v (log %q)", tt.tz, got, tt.warn, logs.String())
		}
	}
}
