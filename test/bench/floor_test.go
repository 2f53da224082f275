package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
)

// BenchmarkEdgeVsBareSender: the edge at 1000 viewers against its floor,
// the bare sender (test/baresender), which writes the same parts to the
// same number of loopback viewers and does nothing else. Both take the
// camera's frames from the same capture; in each run the edge is measured,
// then the bare sender, so edge/bare compares them on the machine of the
// moment.
func BenchmarkEdgeVsBareSender(b *testing.B) {
	const viewers = 1000
	// The edge's upstream closes a second after its viewers leave, so it
	// costs nothing while the bare sender is measured.
	p := startPipeline(b, pipelineOptions{edges: 1, edgeArgs: []string{"--upstream-grace", "1s"}})
	bare := p.withBareSender(b)
	for b.Loop() {
		res, u := p.load(b, viewers, 0)
		time.Sleep(2 * time.Second)
		bres, bu := bare.load(b, viewers, 0)
		b.ReportMetric(res.FPSMedian, "fps-median")
		b.ReportMetric(bres.FPSMedian, "bare-fps-median")
		b.ReportMetric(u.edgeCPU, "edge-cpu-%")
		b.ReportMetric(bu.edgeCPU, "bare-cpu-%")
		b.ReportMetric(u.edgeCPU/bu.edgeCPU, "edge/bare")
		b.ReportMetric(float64(u.edgeRSS)/(1<<20), "edge-rss-MiB")
		b.ReportMetric(float64(bu.edgeRSS)/(1<<20), "bare-rss-MiB")
		b.Logf("edge: %s cpu=%.1f%%; bare sender: %s cpu=%.1f%%; edge/bare=%.3f",
			res, u.edgeCPU, bres, bu.edgeCPU, u.edgeCPU/bu.edgeCPU)
	}
}

// withBareSender starts a bare sender on p's capture and returns a
// pipeline whose only "edge" it is.
func (p *pipeline) withBareSender(b *testing.B) *pipeline {
	b.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	proc := harness.Start(b, harness.Bin(b, "baresender"), []string{"--listen", addr, "--capture", p.grpc, "--camera", camera})
	harness.WaitTCP(b, addr, 20*time.Second)
	bare := *p
	bare.edges = []*harness.Process{proc}
	bare.urls = []string{"http://" + addr}
	return &bare
}
