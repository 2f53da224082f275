package upstream

import (
	"context"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

// Refresh polls ListCameras on every client and updates the routes.
func (p *Pool) Refresh(ctx context.Context) {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	p.refresh(ctx)
}

// refreshIfOld refreshes unless the last refresh is younger than a second,
// so lookups of unknown cameras cannot flood the captures.
func (p *Pool) refreshIfOld(ctx context.Context) {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	if time.Since(p.lastRefresh) >= time.Second {
		p.refresh(ctx)
	}
}

func (p *Pool) refresh(ctx context.Context) {
	p.lastRefresh = time.Now()
	p.mu.RLock()
	clients := slices.Clone(p.clients)
	p.mu.RUnlock()

	type result struct {
		cameras []*camstreamv1.Camera
		err     error
	}
	results := make([]result, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			resp, err := c.api.ListCameras(cctx, &camstreamv1.ListCamerasRequest{})
			results[i] = result{resp.GetCameras(), err}
		})
	}
	wg.Wait()

	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range clients {
		r := results[i]
		switch {
		case r.err == nil:
			if !c.reachable && c.polled {
				p.log.Info("capture reachable again", "capture", c.addr)
			}
			c.cameras, c.reachable = r.cameras, true
			p.cfg.Metrics.CaptureUp.WithLabelValues(c.addr).Set(1)
		case ctx.Err() != nil:
			continue // shutting down: no news
		default:
			if c.reachable || !c.polled {
				p.log.Warn("capture unreachable", "capture", c.addr, "err", status.Convert(r.err).Message())
			}
			c.reachable = false
			p.cfg.Metrics.CaptureUp.WithLabelValues(c.addr).Set(0)
		}
		c.polled = true
	}
	p.rebuild()
}

// rebuild recomputes the routes and the merged camera list; p.mu is held.
// Cameras of a capture that stopped answering stay listed (without state)
// so their viewers wait for it, unless a reachable capture lists them.
func (p *Pool) rebuild() {
	owners := make(map[string]*client)
	p.answered = false
	for _, c := range p.clients {
		if !c.reachable {
			continue
		}
		p.answered = true
		for _, cam := range c.cameras {
			if _, dup := owners[cam.GetId()]; !dup {
				owners[cam.GetId()] = c
			}
		}
	}
	for _, c := range p.clients {
		if c.reachable {
			continue
		}
		for _, cam := range c.cameras {
			if _, dup := owners[cam.GetId()]; !dup {
				owners[cam.GetId()] = c
			}
		}
	}
	var cameras []*camstreamv1.Camera
	for _, c := range p.clients {
		for _, cam := range c.cameras {
			if owners[cam.GetId()] != c {
				continue
			}
			if !c.reachable {
				cam = &camstreamv1.Camera{Id: cam.GetId(), Name: cam.GetName(), OnDemand: cam.GetOnDemand(), LastError: "capture " + c.addr + " unreachable"}
			}
			cameras = append(cameras, cam)
		}
	}
	p.owners, p.cameras = owners, cameras
}
