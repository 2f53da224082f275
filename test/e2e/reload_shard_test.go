package e2e

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"

	"github.com/camstream/camstream/test/harness"
)

// reloadShardOf is the shard of n that owns a camera id (README,
// "Sharding": FNV-1a 32 bit of the id, modulo n).
func reloadShardOf(id string, n uint32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32() % n
}

// With --shard, a reload shares the new file's cameras out again: each of
// two capture processes reading the same file keeps exactly the cameras
// of its shard, before and after cameras are added and removed.
func TestReloadShardOwnership(t *testing.T) {
	ids := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s-%d", prefix, i))
		}
		return out
	}
	file := func(ids []string) string {
		var cams []string
		for _, id := range ids {
			cams = append(cams, reloadCamera(id, "test://ball", 2, 64))
		}
		return reloadFile(cams...)
	}
	before, after := ids("cam", 6), append(ids("cam", 3), ids("new", 6)...)
	dir, path := harness.KubeletMount(t, "cameras.yaml", map[string]string{"cameras.yaml": file(before)})
	shards := []*captureProc{
		captureStart(t, []string{"--config", path, "--shard", "capture-0/2"}),
		captureStart(t, []string{"--config", path, "--shard", "capture-1/2"}),
	}
	want := func(all []string, shard uint32) string {
		var own []string
		for _, id := range all {
			if reloadShardOf(id, 2) == shard {
				own = append(own, id)
			}
		}
		slices.Sort(own)
		return strings.Join(own, ",")
	}
	owned := func(c *captureProc) string {
		got := strings.Split(reloadIDs(t, c), ",")
		slices.Sort(got)
		return strings.Join(got, ",")
	}
	for i, c := range shards {
		if got, w := owned(c), want(before, uint32(i)); got != w {
			t.Fatalf("shard %d at start owns %s, want %s", i, got, w)
		}
	}
	harness.KubeletWrite(t, dir, map[string]string{"cameras.yaml": file(after)})
	for i, c := range shards {
		w := want(after, uint32(i))
		harness.WaitFor(t, captureWait, fmt.Sprintf("shard %d to own %s", i, w), func() bool { return owned(c) == w })
	}
}
