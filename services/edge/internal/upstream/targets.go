package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

func parseTarget(raw string) (target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return target{}, errors.New("empty capture target")
	}
	rest, ok := strings.CutPrefix(raw, "dns:")
	if !ok {
		return target{raw: raw}, nil
	}
	// dns:///host:port or dns://authority/host:port: the authority (a DNS
	// server) is not supported; the system resolver is used.
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if i > 0 {
			return target{}, fmt.Errorf("capture target %q: a DNS server in the target is not supported, use dns:///name:port", raw)
		}
		rest = rest[i+1:]
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil || host == "" || port == "" {
		return target{}, fmt.Errorf("capture target %q: want dns:///name:port", raw)
	}
	return target{raw: raw, dns: true, host: host, port: port}, nil
}

// upstreamWindow is the HTTP/2 flow-control window of a capture connection
// and of each of its streams: 1 MiB, about 20 frames of 720p at quality 70.
// It also bounds what can queue between capture and a CPU-starved edge.
const upstreamWindow = 1 << 20

func (p *Pool) newClient(targetIndex int, addr, grpcTarget, serverName string) (*client, error) {
	creds := insecure.NewCredentials()
	if p.cfg.TLS != nil {
		cfg := p.cfg.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = serverName
		}
		creds = credentials.NewTLS(cfg)
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// Notice a silently dead capture (killed node, black-holed
		// network): a ping after 10 s without a word from it, unanswered
		// for 5 s, ends the connection and its calls within 15 s. The
		// capture allows pings every 5 s, with or without calls.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		// Reconnect to a restarted capture within about a second: one
		// connection attempt per second to a capture that is away is cheap.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(32 << 20)),
		// Fixed flow-control windows of several frames: the capture sends
		// without waiting for window updates, and no bandwidth-delay
		// probing pings ride along with every frame.
		grpc.WithInitialWindowSize(upstreamWindow),
		grpc.WithInitialConnWindowSize(upstreamWindow),
	}, p.cfg.DialOptions...)
	conn, err := grpc.NewClient(grpcTarget, opts...)
	if err != nil {
		return nil, fmt.Errorf("capture target %q: %w", grpcTarget, err)
	}
	return &client{target: targetIndex, addr: addr, conn: conn, api: camstreamv1.NewCaptureServiceClient(conn)}, nil
}

// resolve updates the clients of the dns:/// targets: one per address.
func (p *Pool) resolve(ctx context.Context) {
	for i, t := range p.targets {
		if !t.dns {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ips, err := p.cfg.Resolver.LookupHost(lctx, t.host)
		cancel()
		if err != nil {
			// Keep the known addresses: a failed lookup is no news.
			p.log.Warn("resolve capture target", "target", t.raw, "err", err)
			continue
		}
		want := make(map[string]bool)
		for _, ip := range ips {
			want[net.JoinHostPort(ip, t.port)] = true
		}
		p.setTargetAddrs(i, want)
	}
}

func (p *Pool) setTargetAddrs(targetIndex int, want map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	kept := p.clients[:0:0]
	for _, c := range p.clients {
		if c.target == targetIndex && !want[c.addr] {
			p.log.Info("capture address gone", "capture", c.addr)
			p.cfg.Metrics.CaptureUp.DeleteLabelValues(c.addr)
			_ = c.conn.Close()
			continue
		}
		kept = append(kept, c)
		if c.target == targetIndex {
			delete(want, c.addr)
		}
	}
	for addr := range want {
		c, err := p.newClient(targetIndex, addr, "passthrough:///"+addr, p.targets[targetIndex].host)
		if err != nil {
			p.log.Warn("capture client", "capture", addr, "err", err)
			continue
		}
		p.log.Info("capture address added", "capture", addr)
		kept = append(kept, c)
	}
	slices.SortStableFunc(kept, func(a, b *client) int {
		if a.target != b.target {
			return a.target - b.target
		}
		return strings.Compare(a.addr, b.addr)
	})
	p.clients = kept
	p.rebuild()
}
