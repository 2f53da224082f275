package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
)

// reloadViewers are n MJPEG viewers that read everything they get.
type reloadViewers struct {
	bytes  []atomic.Int64
	open   atomic.Int32
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func reloadWatchMany(t *testing.T, urls []string) *reloadViewers {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	v := &reloadViewers{bytes: make([]atomic.Int64, len(urls)), cancel: cancel}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i, url := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("viewer %d: %s", i, resp.Status)
		}
		v.open.Add(1)
		v.wg.Go(func() {
			defer v.open.Add(-1)
			defer resp.Body.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := resp.Body.Read(buf)
				v.bytes[i].Add(int64(n))
				if err != nil {
					return
				}
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		v.wg.Wait()
	})
	return v
}

// allGrewSince reports whether every viewer got more bytes than in before.
func (v *reloadViewers) allGrewSince(before []int64) bool {
	for i := range v.bytes {
		if v.bytes[i].Load() <= before[i] {
			return false
		}
	}
	return true
}

func (v *reloadViewers) snapshot() []int64 {
	out := make([]int64, len(v.bytes))
	for i := range v.bytes {
		out[i] = v.bytes[i].Load()
	}
	return out
}

// 50 reloads in a row (one camera's size changes every time, another comes
// and goes) while 100 viewers watch through an edge: capture's and the
// edge's goroutines and open fds come back to where they were after the
// first reloads, their memory does not grow, and every viewer is still
// served.
func TestReloadStorm(t *testing.T) {
	const reloads, viewers, warm = 50, 100, 5
	file := func(i int) string {
		cams := []string{reloadCamera("steady", "test://ball", 10, 160), reloadCamera("flip", "test://smpte", 10, 160+80*(i%2))}
		if i%2 == 1 {
			cams = append(cams, reloadCamera("extra", "test://ball", 10, 160))
		}
		return reloadFile(cams...)
	}
	dir, path := harness.KubeletMount(t, "cameras.yaml", map[string]string{"cameras.yaml": file(0)})
	c := captureStart(t, []string{"--config", path, "--log-level", "warn"})
	edge := edgeStartEdge(t, []string{c.grpcAddr}, "--log-level", "warn")
	var urls []string
	for i := range viewers {
		urls = append(urls, edge.url+"/cameras/"+[]string{"steady", "flip"}[i%2]+"/stream.mjpeg")
	}
	v := reloadWatchMany(t, urls)
	start := v.snapshot()
	harness.WaitFor(t, captureWait, "every viewer getting frames", func() bool { return v.allGrewSince(start) })

	var base, capBase stormFigures
	for i := 1; i <= reloads; i++ {
		harness.KubeletWrite(t, dir, map[string]string{"cameras.yaml": file(i)})
		harness.WaitFor(t, captureWait, fmt.Sprintf("reload %d", i), func() bool { return reloadCount(t, c, "success") == i })
		if i == warm {
			time.Sleep(2 * time.Second) // let the edge's poll see the last change
			base, capBase = stormRead(t, edge.url), stormRead(t, "http://"+c.httpAddr)
			t.Logf("measure: after %d reloads: edge %v; capture %v", warm, base, capBase)
		}
	}
	before := v.snapshot()
	harness.WaitFor(t, captureWait, "every viewer getting frames after the reloads", func() bool { return v.allGrewSince(before) })
	if n := v.open.Load(); n != viewers {
		t.Errorf("%d of %d viewers still connected, want all", n, viewers)
	}
	// Goroutines and fds go back to where they were, give or take what
	// the metrics scrapes themselves hold.
	var edgeNow, capNow stormFigures
	for deadline := time.Now().Add(captureWait); ; time.Sleep(200 * time.Millisecond) {
		edgeNow, capNow = stormRead(t, edge.url), stormRead(t, "http://"+c.httpAddr)
		if edgeNow.goroutines <= base.goroutines+3 && edgeNow.fds <= base.fds+3 &&
			capNow.goroutines <= capBase.goroutines+3 && capNow.fds <= capBase.fds+3 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after %d reloads: edge %v (was %v), capture %v (was %v): goroutines or fds grew",
				reloads, edgeNow, base, capNow, capBase)
			break
		}
	}
	t.Logf("measure: after %d reloads: edge %v; capture %v", reloads, edgeNow, capNow)
	for name, grew := range map[string]float64{"edge": edgeNow.rss - base.rss, "capture": capNow.rss - capBase.rss} {
		if grew > 32<<20 {
			t.Errorf("%s's RSS grew %.1f MiB over %d reloads, want at most 32 MiB", name, grew/(1<<20), reloads-warm)
		}
	}
	if n := reloadCount(t, c, "error"); n != 0 {
		t.Errorf("%d reloads failed, want none", n)
	}
}
